"""Choose the patches that apply to the installed versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.version import Version

from sitepatch._record import frozen
from sitepatch.dist import NormalizedName, canonicalize_name
from sitepatch.errors import PatchSetError
from sitepatch.model import Patch

__all__ = ["Decision", "select_patches"]


def __dir__() -> list[str]:
    return __all__


@frozen
class Decision:
    """Whether one patch is selected for the installed versions, and why not."""

    patch: Patch
    selected: bool
    reason: str
    """Empty when selected; otherwise a sentence saying why the patch is skipped."""


def _fixed_upstream(patch: Patch, versions: Mapping[NormalizedName, Version]) -> bool:
    """Whether the installed ``Package`` has reached the patch's ``Applied-Upstream`` release."""
    installed = versions.get(canonicalize_name(patch.package))
    return installed is not None and patch.applied_upstream is not None and installed >= patch.applied_upstream


def _decide(patch: Patch, versions: Mapping[NormalizedName, Version]) -> Decision:
    installed = versions.get(canonicalize_name(patch.package))
    if installed is None:
        return Decision(patch, selected=False, reason=f"{patch.package} is not installed")
    # Checked before Versions: "fixed upstream" says more than "outside the range" when both hold.
    if _fixed_upstream(patch, versions):
        reason = f"fixed upstream in {patch.package} {patch.applied_upstream} (installed {installed})"
        return Decision(patch, selected=False, reason=reason)
    if not patch.versions.contains(installed, prereleases=True):
        reason = f"{patch.package} {installed} is outside Versions {patch.versions}"
        return Decision(patch, selected=False, reason=reason)
    for requirement in patch.requires:
        other = versions.get(canonicalize_name(requirement.name))
        if other is None:
            return Decision(patch, selected=False, reason=f"requires {requirement}, which is not installed")
        if not requirement.specifier.contains(other, prereleases=True):
            reason = f"requires {requirement} (installed {requirement.name} {other})"
            return Decision(patch, selected=False, reason=reason)
    return Decision(patch, selected=True, reason="")


def select_patches(patches: Sequence[Patch], versions: Mapping[NormalizedName, Version]) -> tuple[Decision, ...]:
    """Decide, for each patch in order, whether it applies to the installed ``versions``.

    A patch is selected when its package is installed at a version inside ``Versions``, below
    ``Applied-Upstream`` (if given), and every ``Requires`` holds. Prereleases count as versions like any other.

    :raises PatchSetError: when two variants of one patch number are both selected, naming both files, or
        when a selected patch ``Depends:`` on a patch that is neither selected nor fixed upstream on the
        installed versions, naming both. A dependency that upstream already ships (its ``Applied-Upstream``
        reached) holds: the fix the dependent patch needs is in the installed code.
    """
    decisions = tuple(_decide(p, versions) for p in patches)
    chosen: dict[str, Patch] = {}
    problems: list[str] = []
    for decision in decisions:
        if not decision.selected:
            continue
        patch = decision.patch
        other = chosen.get(patch.number)
        if other is not None:
            version = versions.get(canonicalize_name(patch.package))
            problems.append(
                f"{other.path} and {patch.path} are variants of patch {patch.number} and both match "
                f"{patch.package} {version} (Versions {other.versions} and {patch.versions}); "
                "make their Versions ranges disjoint"
            )
        else:
            chosen[patch.number] = patch
    problems.extend(_missing_dependencies(decisions, chosen, versions))
    if problems:
        raise PatchSetError(problems)
    return decisions


def _missing_dependencies(
    decisions: Sequence[Decision], chosen: Mapping[str, Patch], versions: Mapping[NormalizedName, Version]
) -> list[str]:
    """Every ``Depends:`` of a selected patch whose patch is not selected, as a sentence naming both."""
    problems: list[str] = []
    for decision in decisions:
        patch = decision.patch
        if not decision.selected:
            continue
        for number in patch.depends:
            if number in chosen:
                continue
            variants = [d for d in decisions if d.patch.number == number]
            # e.g. litellm 1.80.15 (0005) with litellm-enterprise 0.1.28, which ships 0004's fix itself
            if any(_fixed_upstream(d.patch, versions) for d in variants):
                continue
            installed = versions.get(canonicalize_name(patch.package))
            if variants:
                why = "; ".join(f"{d.patch.path}: {d.reason}" for d in variants)
                what = f"widen the Versions of patch {number} or narrow those of {patch.name}"
            else:
                why = f"there is no patch {number} in {patch.path.parent}"
                what = f"add patch {number} or remove the Depends line"
            line = patch.header_lines.get("depends", 0)
            problems.append(
                f"{patch.display}:{line}: Depends: {number}, but patch {number} is not selected for "
                f"{patch.package} {installed} ({why}); {what}"
            )
    return problems
