"""Which plugin provides which name: the index, conflicts, and helpful messages.

The index maps ``kind -> name -> [(plugin, class)]`` over the ``ok`` plugins;
it is derived from the registry and cached per generation. Names never shadow
silently: a name two plugins provide (or a plugin and the core) is warned about
once at load, and :func:`ambiguous_message` is the error naming both providers
when such a name is used. :func:`unknown_message` explains a name nobody
provides, with where a first-party name comes from (:func:`first_party_hint`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path
from typing import Any

from dgmcore.errors import DGMError
from dgmcore.plugins._records import ENV_DISABLE, KINDS, norm, ok, state
from dgmcore.plugins._status import version_of

__all__ = ["HINTS", "ambiguous_message", "check_kind", "conflicts", "first_party_hint", "index",
           "providers", "unknown_message"]

# Which first-party package provides a name, for the unknown-name hint. This
# is the only place the core names concrete families, flows, losses or models.
_FAMILIES = (
    "Normal Bernoulli Categorical OneHotCategorical Multinomial Laplace Beta Gamma Dirichlet "
    "Uniform Poisson StudentT Cauchy Exponential LogNormal MultivariateNormal "
    "LowRankMultivariateNormal RelaxedBernoulli RelaxedOneHotCategorical RelaxedCategorical "
    "FactorizedBernoulli "
    "MixtureModel ProductOfNormal ElementWiseProductOfNormal MixtureOfNormal MixtureOfExperts"
)
HINTS: dict[str, tuple[str, str]] = {
    **{n: ("dgmcore-families", "distributions") for n in _FAMILIES.split()},
    **{n: ("dgmcore-flows", "distributions") for n in
       ("TransformedDistribution", "InverseTransformedDistribution")},
    **{n: ("dgmcore-flows", "flows") for n in
       ("FlowList", "FactorOut", "AffineCoupling", "SplineCoupling", "MAF", "IAF",
        "SplineAutoregressive", "ActNorm1d", "ActNorm2d", "BatchNorm1d", "BatchNorm2d", "ChannelConv",
        "Squeeze", "Unsqueeze", "Permutation", "Shuffle", "Reverse", "Flatten", "Preprocess",
        "PlanarFlow", "RadialFlow", "RealNVP", "Glow")},
    **{n: ("dgmcore-adversarial", "losses") for n in
       ("AdversarialJensenShannon", "AdversarialKullbackLeibler",
        "AdversarialWassersteinDistance", "MMD")},
    "IterativeLoss": ("dgmcore-timeseries", "losses"),
    **{n: ("dgmcore-trainers", "models") for n in ("VAE", "GAN", "ML", "VI")},
}


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DGMError(f"unknown namespace kind {kind!r}; expected one of {KINDS}")


def index() -> dict[str, dict[str, list[tuple[str, Any]]]]:
    """``kind -> name -> [(plugin name, class)]`` over the ok plugins, in load order."""
    cached = state.index
    if cached is not None and cached[0] == state.generation:
        return cached[1]
    with state.lock:
        built: dict[str, dict[str, list[tuple[str, Any]]]] = {k: {} for k in KINDS}
        for rec in ok():
            for kind, classes in rec.classes.items():
                for cls in classes:
                    built[kind].setdefault(cls.__name__, []).append((rec.name, cls))
        state.index = (state.generation, built)
    return built


def providers(kind: str, name: str) -> list[tuple[str, Any]]:
    """The distinct ``(plugin name, class)`` providing ``name`` in ``kind``."""
    entries = index()[kind].get(name, [])
    seen: dict[int, tuple[str, Any]] = {}
    for plugin, obj in entries:  # one class re-exported by two plugins is no conflict
        seen.setdefault(id(obj), (plugin, obj))
    return list(seen.values())


def _label(plugin: str, obj: Any) -> str:
    return f"{plugin!r} ({obj.__module__}.{obj.__qualname__})"


def ambiguous_message(kind: str, name: str, found: list[tuple[str, Any]]) -> str:
    both = " and ".join(_label(p, o) for p, o in found)
    return (f"dgmcore.{kind}.{name} is ambiguous: it is provided by {both}. Pick one with "
            f"dgmcore.{kind}.get({name!r}, plugin={found[0][0]!r}), or disable the other "
            f"with {ENV_DISABLE}={found[-1][0]}")


def conflicts() -> None:
    """Queue one warning per name that several plugins (or a plugin and the core) provide."""
    built = index()
    for kind in KINDS:
        core = state.namespaces.get(kind, {})
        for name in built[kind]:
            found = providers(kind, name)
            name_key = (kind, name, tuple(p for p, _ in found))
            if name_key in state.warned:
                continue
            if len(found) > 1:
                state.warned.add(name_key)
                state.warn_queue.append(ambiguous_message(kind, name, found).replace(
                    "is ambiguous", "is ambiguous and raises AmbiguousNameError when used", 1))
            elif name in core and core[name] is not found[0][1]:
                state.warned.add(name_key)
                state.warn_queue.append(
                    f"dgmcore plugin {found[0][0]!r} registers {name!r}, a core name of "
                    f"dgmcore.{kind}; dgmcore.{kind}.{name} stays the core class, and "
                    f"dgmcore.{kind}.get({name!r}, plugin={found[0][0]!r}) is the plugin's")
    seen: dict[Any, list[str]] = {}
    for rec in ok():
        for p, q, _ in rec.kl:
            seen.setdefault(("kl", p, q), []).append(rec.name)
        for t, _ in rec.entropy:
            seen.setdefault(("entropy", t), []).append(rec.name)
        for dataset in rec.datasets:
            seen.setdefault(("dataset", dataset), []).append(rec.name)
        for demo in rec.demos:
            seen.setdefault(("demo", demo), []).append(rec.name)
    for key, owners in seen.items():
        wkey = (*key, tuple(owners))
        if len(owners) > 1 and wkey not in state.warned:
            state.warned.add(wkey)
            if key[0] == "kl":
                what = f"the KL pair ({key[1].__name__}, {key[2].__name__})"
            elif key[0] == "entropy":
                what = f"the entropy of {key[1].__name__}"
            elif key[0] == "demo":
                what = f"the demo {key[1]!r}"
            else:
                what = f"the data set {key[1]!r}"
            state.warn_queue.append(f"{what} is registered by several dgmcore plugins: "
                                    + " and ".join(repr(o) for o in owners))


def first_party_hint(package: str) -> str:
    """Where a first-party plugin that is not loaded comes from.

    Never advice to ``pip install`` a package that is not released: the
    first-party plugins live in the repository's ``plugins/`` folder, which a
    checkout of dgmcore has, and ``scripts/dev.sh setup`` installs. A package
    neither there nor installed is planned.
    """
    checkout = Path(__file__).resolve().parents[2] / "plugins" / package / "pyproject.toml"
    try:
        importlib.metadata.distribution(package)
        installed = True
    except importlib.metadata.PackageNotFoundError:
        installed = False
    if installed or checkout.is_file():
        return (f"is provided by the first-party plugin {package} (plugins/{package}; "
                "bash scripts/dev.sh setup installs it)")
    return f"is planned for the first-party plugin {package}, which is not released yet"


def unknown_message(kind: str, name: str) -> str:
    """Why ``dgmcore.<kind>.<name>`` does not exist, and what to do about it."""
    msg = f"dgmcore.{kind} has no {name!r}: no installed dgmcore plugin provides it"
    for other in KINDS:  # so "it is in dgmcore.losses" works before that import
        if other not in state.namespaces:
            try:
                importlib.import_module(f"dgmcore.{other}")
            except ImportError:
                pass
    elsewhere = [k for k in KINDS if k != kind and (
        name in index()[k] or name in state.namespaces.get(k, {}))]
    package, hint_kind = HINTS.get(name, (None, None))
    if elsewhere:
        return f"dgmcore.{kind} has no {name!r}; it is in dgmcore.{elsewhere[0]}"
    if package is not None:
        rec = next((r for r in state.plugins.values()
                    if r.distribution and norm(r.distribution) == package), None)
        if rec is not None and rec.status != "ok":
            return f"{msg}; {package} is installed but {rec.status}: {rec.reason}"
        if rec is not None:
            return (f"dgmcore.{kind} has no {name!r}: the installed {package} {version_of(rec)} "
                    f"does not provide it; pip install --upgrade {package}")
        where = f" (it belongs in dgmcore.{hint_kind})" if hint_kind != kind else ""
        return f"{msg}. {name}{where} {first_party_hint(package)}"
    import difflib

    pool = set(index()[kind]) | {n for n in state.namespaces.get(kind, {})
                                 if not n.startswith("_")}
    close = difflib.get_close_matches(name, sorted(pool), 1)
    return msg + (f"; did you mean {close[0]!r}?" if close else "")
