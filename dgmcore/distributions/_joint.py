"""Joint distributions: products of factors, and marginalisation."""

from __future__ import annotations

from collections.abc import Sequence
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

import torch
from torch import nn

from dgmcore.distributions._base import Distribution
from dgmcore.distributions._deterministic import Deterministic
from dgmcore.distributions._inputs import XDict, check_x_dict, var_list
from dgmcore.distributions._sample_dims import extra_sample_dims, sample_dims
from dgmcore.errors import GraphError, InputTypeError, NoDensityError

if TYPE_CHECKING:
    import networkx

__all__ = ["JointDistribution", "MarginalizedDistribution", "graph_of"]


def _batch_size(x_dict: XDict, names: tuple[str, ...]) -> int | None:
    """The batch size fixed by the tensors of ``names`` in ``x_dict``, if any.

    Only the joint's own variables count: an unrelated entry (a time step, a
    weight) must not set the batch.
    """
    pos = sample_dims()
    for n in names:
        v = x_dict.get(n)
        if isinstance(v, torch.Tensor) and v.dim() > pos:
            return int(v.shape[pos])
    return None


class JointDistribution(Distribution):
    """The product of factors, e.g. ``p(x|z) * p(z)``; built by ``*``.

    Variables with the same name are the same variable. Sampling is ancestral,
    in a topological order computed once at construction; values the caller
    gives for any variable are used, never resampled. The log-density is the
    sum of the factors' log-densities (deterministic factors contribute none).

    Raises:
        GraphError: two factors generate the same variable, or the factors
            form a cycle.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> joint = p * prior
        >>> joint.prob_text, joint.prob_factorized_text
        ('p(x,z)', 'p(x|z)p(z)')
        >>> sorted(joint.sample(batch_n=3))
        ['x', 'z']
    """

    distribution_name = "Joint"

    def __init__(self, factors: Sequence[Distribution], name: str | None = None) -> None:
        flat: list[Distribution] = []
        for f in factors:
            if not isinstance(f, Distribution):
                raise GraphError(f"can only multiply distributions, got {type(f).__name__}")
            if isinstance(f, JointDistribution) and not isinstance(f, MarginalizedDistribution):
                flat.extend(f._factors)
            else:
                flat.append(f)
        owner: dict[str, Distribution] = {}
        for f in flat:
            for v in f.var:
                if v in owner:
                    raise GraphError(
                        f"two factors generate {v!r}: {owner[v].prob_text} and {f.prob_text}"
                    )
                owner[v] = f
        generated = [v for f in flat for v in f.var]
        inputs: list[str] = []
        # values the joint must be given: what no factor generates, and what a factor
        # generates from the input itself (the data distribution "samples" the data given)
        data: list[str] = []
        for f in flat:
            for c in f.input_var:
                if c not in owner and c not in inputs:
                    inputs.append(c)
                elif c in owner and owner[c] is f and c not in data:
                    data.append(c)
        sorter: TopologicalSorter[int] = TopologicalSorter()
        for i, f in enumerate(flat):
            # a factor reading its own variable (EmpiricalDistribution) is no edge, not a cycle
            sorter.add(i, *[flat.index(owner[c]) for c in f.input_var if c in owner and owner[c] is not f])
        try:
            order = list(sorter.static_order())
        except CycleError as err:
            cycle = err.args[1]
            texts = " -> ".join(flat[i].prob_text for i in cycle)
            raise GraphError(f"the factors form a cycle: {texts}") from None
        super().__init__(var=generated, cond_var=inputs, name=name or flat[0].name)
        self._factor_list = nn.ModuleList(flat)  # registers the factors as submodules
        # the same modules, typed (a ModuleList yields plain Modules); fixed, like the variables
        self._factors: tuple[Distribution, ...] = tuple(flat)
        self._order: tuple[Distribution, ...] = tuple(flat[i] for i in order)
        # renamed deterministic factors too: they contribute no density term
        self._deterministic = tuple(isinstance(f.unwrapped, Deterministic) for f in self._order)
        self._owner = owner
        self._known = tuple(inputs) + tuple(generated)  # the variables that may fix the batch
        self._data_var = tuple(data)

    @property
    def input_var(self) -> list[str]:
        return [*self._cond_var, *self._data_var]

    def factors(self) -> list[Distribution]:
        return list(self._factors)

    @property
    def prob_factorized_text(self) -> str:
        return "".join(f.prob_factorized_text for f in self._factors)

    @property
    def features_shape(self) -> torch.Size:
        if len(self._factors) == 1:
            return self._factors[0].features_shape
        return torch.Size()

    @property
    def has_reparam(self) -> bool:
        return all(f.has_reparam for f in self._factors)

    def _architecture(self) -> list[str]:
        lines: list[str] = []
        for f in self._factors:
            lines.append(f"{f.prob_text}:")
            lines.extend("  " + line for line in f._architecture())
        return lines

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        out = self._ancestral(x_dict, batch_n, sample_shape, reparam)
        own = set(self._var)
        missing = own.difference(out)
        if missing:
            raise KeyError(sorted(missing)[0])
        return {v: t for v, t in out.items() if v in own}  # in the order drawn

    def _ancestral(
        self, x_dict: XDict, batch_n: int | None, shape: torch.Size, reparam: bool
    ) -> XDict:
        """``x_dict`` and every variable the factors generate, drawn in topological order."""
        out = dict(x_dict)
        if batch_n is None:
            batch_n = _batch_size(x_dict, self._known)
        drawn: set[str] = set()
        for f in self._order:
            fvars = f._var
            if (fvars[0] in out) if len(fvars) == 1 else all(v in out for v in fvars):
                continue  # given by the caller: used, never resampled
            if shape and any(c in drawn for c in f._cond_var):
                # its inputs already carry the sample dims: draw once per input
                with extra_sample_dims(len(shape)):
                    new = f.sample(out, return_all=False, reparam=reparam)
            else:
                new = f.sample(
                    out, batch_n=batch_n, sample_shape=shape, return_all=False, reparam=reparam
                )
            out.update(new)
            drawn.update(new)
        return out

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        total, _, negated = self._signed_log_density(x_dict, False)
        return (-total if negated else total), 0

    def _signed_log_density(self, x_dict: XDict, prefer_negated: bool) -> tuple[torch.Tensor, int, bool]:
        """The factors' log densities summed, each taken in the sign it computes cheaply.

        One value per sample: each factor's features are summed. A factor given
        negated (a Bernoulli's cross-entropy) is subtracted, not negated and
        added; the total is negated where ``prefer_negated`` asks for it and the
        factors allow it at no cost.
        """
        total: torch.Tensor | None = None
        negated = prefer_negated
        for f, deterministic in zip(self._order, self._deterministic, strict=True):
            if deterministic:
                if not all(v in x_dict for v in f._var):
                    x_dict = dict(x_dict)
                    x_dict.update(f.sample(x_dict, return_all=False))
                continue
            lp, f_negated = f.get_signed_log_prob(x_dict, True, None, negated)
            if total is None:
                total, negated = lp, f_negated
            elif f_negated == negated:
                total = total + lp
            elif f_negated == prefer_negated:  # one subtraction either way: take the sign asked for
                total, negated = lp - total, f_negated
            else:
                total = total - lp
        if total is None:
            raise NoDensityError(f"{self.prob_text}: no factor of this joint has a density")
        return total, 0, negated

    def _entropy(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        """Entropy of a joint of independent factors (the sum of their entropies)."""
        if any(f._cond_var and set(f._cond_var) & set(self._var) for f in self._factors):
            raise NoDensityError(
                f"{self.prob_text}: the entropy of a joint with dependent factors has no closed "
                "form; use Entropy(p, analytical=False)"
            )
        parts = [f.get_entropy(x_dict) for f in self._factors]
        return torch.stack(torch.broadcast_tensors(*parts)).sum(0), 0

    def _moments(
        self, x_dict: XDict | None, n_samples: int, variance: bool
    ) -> torch.Tensor:
        """Mean (or variance) of the variable generated last, exact or by total expectation."""
        x_dict = check_x_dict(x_dict, self)
        last = self._order[-1]
        if all(c in x_dict for c in last._cond_var):  # every parent given: the exact moments
            return last.sample_variance(x_dict) if variance else last.sample_mean(x_dict)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise InputTypeError(
                f"{self.prob_text}: n_samples must be a positive int, got {n_samples!r}"
            )
        # n ancestral draws of the parents (a sample dim in front), then
        # E[x] = E[E[x|pa]] and Var[x] = E[Var[x|pa]] + Var[E[x|pa]]
        draws = self.sample(x_dict, sample_shape=(n_samples,))
        with extra_sample_dims(1):
            mean = last.sample_mean(draws)
            if not variance:
                return mean.mean(0)
            return last.sample_variance(draws).mean(0) + mean.var(0, unbiased=False)

    def sample_mean(self, x_dict: XDict | None = None, *, n_samples: int = 1000) -> torch.Tensor:
        """Mean of the variable generated last (e.g. ``x`` of ``p(x|z)p(z)``).

        Exact (the last factor's conditional mean) when ``x_dict`` gives every
        variable that factor conditions on. Otherwise a Monte-Carlo *estimate*
        over ``n_samples`` ancestral draws of those variables, by the law of
        total expectation :math:`\\mathbb{E}[x] = \\mathbb{E}[\\mathbb{E}[x \\mid \\mathrm{pa}(x)]]`.

        Args:
            x_dict: values of any of the joint's variables.
            n_samples: ancestral draws for the estimate (keyword only).
        """
        return self._moments(x_dict, n_samples, variance=False)

    def sample_variance(self, x_dict: XDict | None = None, *, n_samples: int = 1000) -> torch.Tensor:
        """Variance of the variable generated last (see :meth:`sample_mean`).

        Exact when ``x_dict`` gives every parent of that variable; otherwise a
        Monte-Carlo estimate by the law of total variance,
        :math:`\\mathrm{Var}[x] = \\mathbb{E}[\\mathrm{Var}[x \\mid \\mathrm{pa}]]
        + \\mathrm{Var}[\\mathbb{E}[x \\mid \\mathrm{pa}]]`, over ``n_samples`` draws.
        """
        return self._moments(x_dict, n_samples, variance=True)

    def replace_var(self, **names: str) -> Distribution:
        unknown = sorted(set(names) - set(self._var) - set(self.input_var))
        if unknown:
            raise InputTypeError(
                f"{self.prob_text} has no variable {unknown[0]!r} to replace; it has "
                f"{sorted(set(self._var) | set(self.input_var))}"
            )
        factors = []
        for f in self._factors:
            own = {k: v for k, v in names.items() if k in f.var or k in f.input_var}
            factors.append(f.replace_var(**own) if own else f)
        return JointDistribution(factors, name=self._name)


class MarginalizedDistribution(JointDistribution):
    """A joint with some variables marginalised out: sampling draws and drops them.

    Its density would need an integral; :func:`dgmcore.losses.log_marginal`
    estimates it by importance sampling.
    """

    def __init__(self, joint: JointDistribution, var: str | Sequence[str]) -> None:
        hidden = var_list(var, "marginalize_var")
        if not hidden:
            raise GraphError("marginalize_var needs at least one variable")
        for v in hidden:
            if v not in joint.var:
                raise GraphError(
                    f"{joint.prob_text} does not generate {v!r}; it can marginalise only "
                    f"{joint.var}"
                )
        if set(hidden) == set(joint.var):
            raise GraphError(f"{joint.prob_text}: cannot marginalise out every variable")
        joint_text = joint.prob_factorized_text
        if isinstance(joint, MarginalizedDistribution):  # marginalising again: the hidden add up
            hidden = joint._hidden + hidden
            joint_text = joint._joint_text
        super().__init__(joint.factors(), name=joint.name)
        self._joint_text: str = joint_text
        self._hidden: tuple[str, ...] = hidden
        self._var = tuple(v for v in self._var if v not in hidden)

    @property
    def prob_factorized_text(self) -> str:
        return f"\\int {self._joint_text} d{','.join(self._hidden)}"

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        out = self._ancestral(x_dict, batch_n, sample_shape, reparam)  # the hidden ones too
        own = set(self._var)
        return {v: t for v, t in out.items() if v in own}  # in the order drawn

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        raise NoDensityError(
            f"{self.prob_text} marginalises out {list(self._hidden)}; its density is an "
            "integral. Estimate it with dgmcore.losses.log_marginal(joint, proposal, x_dict, k)"
        )

    def replace_var(self, **names: str) -> Distribution:
        joint = JointDistribution(self.factors(), name=self._name).replace_var(**names)
        return MarginalizedDistribution(joint, [names.get(v, v) for v in self._hidden])  # type: ignore[arg-type]


def graph_of(factors: Sequence[Distribution]) -> networkx.DiGraph:
    """The variables of ``factors`` as a DiGraph: ``u -> v`` when ``v``'s factor conditions on ``u``."""
    import networkx as nx

    g = nx.DiGraph()
    for f in factors:
        for c in f.cond_var:
            if c not in g:
                g.add_node(c)
        for v in f.var:
            g.add_node(v, factor=f)
            for c in f.cond_var:
                g.add_edge(c, v)
    return g
