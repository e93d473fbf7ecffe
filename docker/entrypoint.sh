#!/bin/sh
# Startup guard of the patched LiteLLM image: refuse to start when the patches applied at build time are not
# all in place (a `pip install --force-reinstall litellm` in a derived image, an upgrade, a bind-mounted or
# hand-edited file), instead of serving unpatched code.
#
#   entrypoint.sh COMMAND [ARG...]   check, then exec COMMAND (the image's own entrypoint) with its arguments
#   entrypoint.sh --check            check only: the HEALTHCHECK and Kubernetes probe command
#
# The check is `apply_patches.py status`, which exits non-zero when anything recorded in the manifest is lost
# (back to pristine), modified, or when there is no manifest at all, and when the interpreter would not run a
# patched file: an unpatched copy earlier on sys.path (PYTHONPATH) or stale bytecode in __pycache__. It runs
# with the command's own interpreter and environment (PYTHONPATH included) for that. Environment:
#   SITEPATCH_SITE_PACKAGES  the patched site-packages (required; docker/Dockerfile sets it)
#   SITEPATCH_HOME           the sitepatch checkout (default /opt/sitepatch); its vendor/ holds unidiff and
#                            packaging, put first on PYTHONPATH for the check only, never for LiteLLM
#   SITEPATCH_PYTHON         the interpreter (default: python)
#   SITEPATCH_GUARD          enforce (default): exit with status's code; warn: report and start anyway
# Exit codes: status's (1: not everything is in place; 2: no such site-packages, unreadable manifest;
# 3: not patched, no manifest),
# 64 for a usage error; otherwise COMMAND's, which replaces this shell.
set -u

home=${SITEPATCH_HOME:-/opt/sitepatch}
python=${SITEPATCH_PYTHON:-python}
mode=${SITEPATCH_GUARD:-enforce}
site=${SITEPATCH_SITE_PACKAGES:-}

if [ -z "$site" ]; then
    echo "sitepatch guard: SITEPATCH_SITE_PACKAGES is not set" >&2
    exit 64
fi
case $mode in
    enforce | warn) ;;
    *)
        echo "sitepatch guard: SITEPATCH_GUARD must be enforce or warn, not '$mode'" >&2
        exit 64
        ;;
esac

check() {
    PYTHONPATH="$home/vendor${PYTHONPATH:+:$PYTHONPATH}" "$python" "$home/apply_patches.py" status --site-packages "$site"
}

if [ "${1:-}" = "--check" ]; then
    check
    exit $?
fi
if [ $# -eq 0 ]; then
    echo "usage: entrypoint.sh --check | COMMAND [ARG...]" >&2
    exit 64
fi

report=$(check 2>&1)
code=$?
if [ "$code" -ne 0 ]; then
    printf '%s\n' "$report" >&2
    if [ "$mode" = warn ]; then
        echo "sitepatch guard: WARNING: the LiteLLM patches are not all in place (status exit $code);" \
            "starting anyway because SITEPATCH_GUARD=warn" >&2
    else
        echo "sitepatch guard: refusing to start: the LiteLLM patches are not all in place (status exit $code)." \
            "Rebuild the image (docker/Dockerfile) instead of reinstalling or replacing LiteLLM files in it;" \
            "SITEPATCH_GUARD=warn starts anyway." >&2
        exit "$code"
    fi
else
    newline='
'
    echo "sitepatch guard: ${report##*"$newline"}"
fi
exec "$@"
