"""A random intercept per subject, fitted by REML, with Satterthwaite degrees of freedom.

The model is ``y = X b + Z u + e`` with ``u ~ N(0, s_b^2)`` per subject and
``e ~ N(0, s^2)``, parameterised like lme4 by ``theta = s_b / s``. The REML criterion is
profiled over ``s`` and minimised over ``theta >= 0`` by finding the root of its exact
derivative (not by a derivative-free search), so the optimum is known to machine
precision. Every quantity uses the block structure of a random intercept (each
subject's covariance is ``s^2 (I + theta^2 J)``), so a fit costs sums per subject, not
an ``n x n`` inverse.

The Satterthwaite degrees of freedom of a contrast ``L b`` follow lmerTest's
``contest1D`` exactly: ``df = 2 f^2 / (g' A g)`` with ``f = L Cov(b) L'``, ``g`` its
gradient in ``(theta, s)`` and ``A = 2 H^-1`` the inverse Hessian of the REML deviance
in ``(theta, s)`` (eigenvalues below 1e-8 left out, as lmerTest does). lmerTest takes
both derivatives numerically; here they are analytic.

At the boundary ``theta = 0`` (no subject variance detected; lme4 reports a singular
fit) the deviance is even in ``theta``, so the gradient of ``f`` in ``theta`` is 0 and the
df reduce to ``n - p``: the estimates, standard errors and df are those of ordinary
least squares, in lmerTest and here alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

_EIGEN_TOL = 1e-8  # lmerTest's as_lmerModLT(tol = 1e-8)


@dataclass(frozen=True)
class Structure:
    """What a fit needs of ``X`` and the subjects, computed once per set of samples."""

    X: np.ndarray
    subject: np.ndarray  # subject code per row, 0..q-1
    size: np.ndarray  # rows per subject
    ZtX: np.ndarray  # per-subject column sums of X, q x p
    XtX: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, subject: np.ndarray) -> Structure:
        """``X`` must have full column rank; ``subject`` any labels (codes are made here)."""
        _, codes = np.unique(subject, return_inverse=True)
        size = np.bincount(codes).astype(float)
        ZtX = np.zeros((len(size), X.shape[1]))
        np.add.at(ZtX, codes, X)
        return cls(X, codes, size, ZtX, X.T @ X)

    @property
    def dof(self) -> int:
        return self.X.shape[0] - self.X.shape[1]


@dataclass(frozen=True)
class _State:
    """REML pieces at one ``u = theta^2`` (``ypy = y'Py``, ``K = Z'PZ``, ``s = Z'Py``)."""

    u: float
    beta: np.ndarray
    Minv: np.ndarray
    ypy: float
    logdet: float
    K: np.ndarray
    s: np.ndarray
    B: np.ndarray  # Z'H^-1 X

    def deviance(self, dof: int) -> float:
        """Profiled REML deviance, up to a constant."""
        return self.logdet + dof * math.log(self.ypy)

    def slope(self, dof: int) -> float:
        """Derivative of :meth:`deviance` in ``u``."""
        return float(np.trace(self.K) - dof * (self.s @ self.s) / self.ypy)


@dataclass(frozen=True)
class RemlFit:
    """A REML fit: fixed effects, variance parameters, and what Satterthwaite needs."""

    beta: np.ndarray
    cov_beta: np.ndarray
    sigma: float
    theta: float
    vcov_varpar: np.ndarray  # 2 x 2, of (theta, sigma)
    jacobian: tuple[np.ndarray, np.ndarray]  # d Cov(beta) / d theta, / d sigma

    @property
    def subject_sd(self) -> float:
        """The subject SD ``s_b = theta * s``."""
        return self.theta * self.sigma

    def contrast(self, L: np.ndarray) -> tuple[float, float, float]:
        """``(estimate, standard error, Satterthwaite df)`` of ``L b``.

        Examples
        --------
        >>> y = np.array([1.0, 2.1, 1.4, 2.2, 0.2, 1.9, 0.9, 2.8, 1.5])
        >>> X = np.column_stack([np.ones(9), np.tile([0.0, 1.0], 5)[:9]])
        >>> fit = fit_reml(y, Structure.of(X, np.repeat(np.arange(5), 2)[:9]))
        >>> est, se, df = fit.contrast(np.array([0.0, 1.0]))
        >>> round(est, 4), round(df, 2)  # lmerTest::contest: 1.295948576, df 3.176242787
        (1.2959, 3.18)
        """
        var = float(L @ self.cov_beta @ L)
        grad = np.array([L @ j @ L for j in self.jacobian])
        spread = float(grad @ self.vcov_varpar @ grad)
        dof = 2 * var**2 / spread if spread > 0 else np.nan
        return float(L @ self.beta), math.sqrt(var), dof


def fit_reml(y: np.ndarray, structure: Structure) -> RemlFit | str:
    """The REML fit of ``y`` (one value per row of ``structure``), or why there is none."""
    dof = structure.dof
    if dof < 1:
        return f"no residual degrees of freedom ({structure.X.shape[1]} fixed effects)"
    Zty = np.bincount(structure.subject, weights=y, minlength=len(structure.size))
    Xty, yty = structure.X.T @ y, float(y @ y)

    def state(u: float) -> _State:
        return _state(u, structure, Zty, Xty, yty)

    u = _optimum(state, dof)
    if u is None:
        return "within-subject residual variance is 0 (subject effects explain every value)"
    best = state(u)
    sigma2 = best.ypy / dof
    if not sigma2 > 0:
        return "zero residual variance"
    return _fit(best, sigma2, dof)


def _state(u, structure: Structure, Zty, Xty, yty) -> _State:
    w = 1 / (1 + structure.size * u)
    uw = u * w
    M = structure.XtX - structure.ZtX.T @ (uw[:, None] * structure.ZtX)
    XtHy = Xty - structure.ZtX.T @ (uw * Zty)
    factor = linalg.cho_factor(M)
    beta = linalg.cho_solve(factor, XtHy)
    Minv = linalg.cho_solve(factor, np.eye(len(M)))
    yHy = yty - float(uw @ Zty**2)
    ypy = yHy - float(beta @ XtHy)
    logdet = float(np.log1p(structure.size * u).sum() + 2 * np.log(np.diag(factor[0])).sum())
    B = w[:, None] * structure.ZtX
    K = np.diag(structure.size * w) - B @ Minv @ B.T
    s = w * (Zty - structure.ZtX @ beta)
    return _State(u, beta, Minv, ypy, logdet, K, s, B)


def _optimum(state, dof: int) -> float | None:
    """The ``u >= 0`` minimising the REML deviance: the boundary or a root of its slope."""
    grid = np.concatenate([[0.0], np.logspace(-6, 6, 49)])
    slopes = [state(u).slope(dof) for u in grid]
    if slopes[-1] < 0:  # still falling at theta = 1000: no finite optimum
        return None
    candidates = [0.0] if slopes[0] >= 0 else []
    for k in range(len(grid) - 1):
        if slopes[k] < 0 <= slopes[k + 1]:
            root = optimize.brentq(
                lambda u: state(u).slope(dof), grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15
            )
            candidates.append(root)
    return min(candidates, key=lambda u: state(u).deviance(dof))


def _fit(best: _State, sigma2: float, dof: int) -> RemlFit:
    sigma, u = math.sqrt(sigma2), best.u
    theta = math.sqrt(u)
    # Hessian of the full REML deviance in (theta, sigma), analytic (lmerTest: numDeriv)
    ss, sKs = float(best.s @ best.s), float(best.s @ best.K @ best.s)
    d_u = float(np.trace(best.K)) - ss / sigma2
    d_uu = -float(np.sum(best.K * best.K)) + 2 * sKs / sigma2
    h_tt = 2 * d_u + 4 * u * d_uu
    h_ts = 2 * theta * 2 * ss / sigma**3
    h_ss = -2 * dof / sigma2 + 6 * best.ypy / sigma2**2
    hessian = np.array([[h_tt, h_ts], [h_ts, h_ss]])
    values, vectors = np.linalg.eigh(hessian)
    keep = values > _EIGEN_TOL
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    # d Cov(beta) / d theta = sigma^2 * 2 theta * Minv B'B Minv; d / d sigma = 2 sigma Minv
    MB = best.Minv @ best.B.T
    d_theta = sigma2 * 2 * theta * (MB @ MB.T)
    return RemlFit(
        beta=best.beta,
        cov_beta=sigma2 * best.Minv,
        sigma=sigma,
        theta=theta,
        vcov_varpar=2 * inverse,
        jacobian=(d_theta, 2 * sigma * best.Minv),
    )
