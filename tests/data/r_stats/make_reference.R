# Reference values for mekscore.tl._stats (tests/test_stats_reference.py), from R.
#
#   Rscript tests/data/r_stats/make_reference.R   (run from the repository root)
#
# Writes cases.csv (the inputs) and reference.csv (one row per case x test). Sources:
#   welch / paired-t    t.test; g*_s (Delacre et al. 2021) and g_z by their formulas, with
#                       J via lgamma and the noncentral-t limits by uniroot on pt(ncp = ).
#   mannwhitney /       untied, zero-free data: wilcox.test(exact = TRUE, conf.int = TRUE)
#   wilcoxon            (columns r_*). All data: full enumeration of every split or sign
#                       pattern with rank() midranks, Pratt's zeros and twice the smaller
#                       tail, evaluated at every pairwise difference (Walsh average), in each
#                       gap between them and beyond both ends, giving p, the smallest
#                       attainable p and the set of shifts with p > 1 - 0.95 (columns p_value,
#                       low, high, low_open, high_open, connected, floor). Every input has at
#                       most 4 decimals; the enumeration runs on the values times 10^4
#                       (integers, so shifted values and ties are exact; ranks are unchanged
#                       by scaling) and divides the interval's ends back.
#                       coin (distribution = "exact"; wilcoxsign_test with zero.method =
#                       "Pratt") gives the two one-sided exact p-values: coin_p = twice the
#                       smaller, an independent check of the enumeration.
suppressPackageStartupMessages(library(coin))
set.seed(20240523)
here <- "tests/data/r_stats"
level <- 1 - 0.95
scale <- 1e4  # every input has at most 4 decimals

fmt <- function(x) paste(sprintf("%.17g", x), collapse = ";")

unpaired <- list(
  issue_mw_tied_p_below_alpha = list(c(3, 1, 1, 1), c(3, 2, 2, 2, 2, 2, 4)),
  issue_mw_all_arrangements_p1 = list(c(1, 1, 1, 1, 1), c(1, 1, 1, 1, 2)),
  issue_mw_floor_0057 = list(c(3, 3, 2, 3), c(2, 1, 1, 1)),
  issue_mw_two_sided_convention = list(c(1, 0, 1, 1), c(1, 5, 4, 4, 5)),
  outlier_tied_control = list(
    c(1.0, 1.1, 0.9, 1.2, 1.05, 0.95, 1.15, 1.0), c(1.4, 1.5, 1.35, 1.6, 1.45, 1.55, 1.5, -9.0)
  ),
  constant_control = list(c(1, 1, 1, 1), c(1.5, 2.0, 2.5, 1.8)),
  constant_control_2v2 = list(c(1, 1), c(1.5, 3)),
  between_arm_tie_only = list(c(1, 2, 3, 4, 5), c(5, 6, 7, 8, 9))
)
for (size in list(c(3, 4), c(3, 8), c(4, 4), c(4, 9), c(5, 6), c(6, 6), c(7, 3), c(8, 8),
                  c(10, 10), c(6, 5), c(5, 5), c(8, 4))) {
  for (k in 1:2) {
    shift <- sample(0:3, 1)
    unpaired[[sprintf("tied_%dv%d_%d", size[1], size[2], k)]] <- list(
      as.numeric(sample(0:4, size[1], TRUE)), as.numeric(sample(0:4, size[2], TRUE) + shift)
    )
  }
}
for (size in list(c(3, 8), c(8, 3), c(4, 6), c(6, 4), c(3, 3), c(5, 5), c(10, 10), c(6, 9))) {
  for (ratio in c(1, 5)) {
    unpaired[[sprintf("normal_%dv%d_var%g", size[1], size[2], ratio)]] <- list(
      round(rnorm(size[1]), 4), round(rnorm(size[2], 1, sqrt(ratio)), 4)
    )
  }
}

paired <- list(  # differences d = treated - control, control fixed below
  issue_w_tied_p_below_alpha = c(1, 2, -2, 3, 4, 2, 2, 4),
  issue_w_one_zero_8 = c(0, 0.5, -0.75, 1.25, 1.5, 1.75, 2, 2.5),
  issue_w_one_zero_6 = c(0, 1, 2, 3, 4, 5),
  issue_w_three_zeros_8 = c(0, 0, 0, 1, 2, 3, 4, 5),
  opposite_sign_ties = c(-1, 1, 2, 3, 4, 5, 6),
  two_pairs = c(1, 2)
)
for (n in 3:10) {
  for (k in 1:2) paired[[sprintf("tied_%d_%d", n, k)]] <- as.numeric(sample(-2:4, n, TRUE))
}
for (n in c(3, 6, 8, 10)) paired[[sprintf("normal_%d", n)]] <- round(rnorm(n, 0.8), 4)

# --- effect sizes -------------------------------------------------------------------------
hedges_j <- function(df) exp(lgamma(df / 2) - 0.5 * log(df / 2) - lgamma((df - 1) / 2))
ncp_limits <- function(t, df) {
  solve <- function(target) {
    f <- function(lam) pt(t, df, ncp = lam) - target
    step <- 1 + abs(t)
    lo <- t - step
    hi <- t + step
    while (f(lo) < 0) lo <- lo - step
    while (f(hi) > 0) hi <- hi + step
    uniroot(f, c(lo, hi), tol = 1e-14)$root
  }
  c(solve(1 - level / 2), solve(level / 2))
}

welch <- function(control, treated) {
  if (var(control) == 0 && var(treated) == 0) return(NULL)
  tt <- t.test(treated, control)
  n1 <- length(control); n2 <- length(treated)
  v1 <- var(control); v2 <- var(treated)
  se <- sqrt(v1 / n1 + v2 / n2)
  sd_av <- sqrt((v1 + v2) / 2)
  dfs <- (n1 - 1) * (n2 - 1) * (v1 + v2)^2 / ((n2 - 1) * v1^2 + (n1 - 1) * v2^2)
  d <- (mean(treated) - mean(control)) / sd_av
  lam <- ncp_limits(unname(tt$statistic), unname(tt$parameter))
  list(test = "welch", p_value = tt$p.value, difference = mean(treated) - mean(control),
       difference_low = tt$conf.int[1], difference_high = tt$conf.int[2],
       effect_size = if (dfs <= 1 + 1e-9) d else hedges_j(dfs) * d,
       ci_low = lam[1] * se / sd_av, ci_high = lam[2] * se / sd_av)
}

paired_t <- function(d) {
  if (var(d) == 0) return(NULL)
  tt <- t.test(d)
  n <- length(d)
  z <- mean(d) / sd(d)
  lam <- ncp_limits(unname(tt$statistic), n - 1)
  list(test = "paired-t", p_value = tt$p.value, difference = mean(d),
       difference_low = tt$conf.int[1], difference_high = tt$conf.int[2],
       effect_size = if (n - 1 <= 1) z else hedges_j(n - 1) * z,
       ci_low = lam[1] / sqrt(n), ci_high = lam[2] / sqrt(n))
}

# --- rank tests by enumeration -----------------------------------------------------------
tails <- function(null, s) {
  lo <- mean(null <= s + 1e-9)
  hi <- mean(null >= s - 1e-9)
  c(p = min(1, 2 * min(lo, hi)),
    floor = min(1, 2 * min(mean(null <= min(null) + 1e-9), mean(null >= max(null) - 1e-9))))
}

mw_at <- function(control, treated, splits) function(delta) {
  r <- rank(c(control, treated - delta))
  null <- colSums(matrix(r[splits], nrow = nrow(splits)))
  tails(null, sum(r[-seq_along(control)]))
}

signs_at <- function(d) {
  patterns <- as.matrix(expand.grid(rep(list(0:1), length(d))))
  function(delta) {
    x <- d - delta
    r <- rank(abs(x))
    active <- x != 0  # Pratt: zeros are ranked, carry no sign
    null <- patterns[, active, drop = FALSE] %*% r[active]
    tails(null, sum(r[x > 0]))
  }
}

invert <- function(values, p_at) {
  u <- sort(unique(values))
  shifts <- c(u[1] - 1, as.vector(rbind(u, c((u[-1] + u[-length(u)]) / 2, u[length(u)] + 1))))
  point <- c(FALSE, rep(c(TRUE, FALSE), length(u)))
  p <- sapply(shifts, function(delta) p_at(delta)["p"])
  kept <- which(p > level)
  first <- kept[1]; last <- kept[length(kept)]
  left <- if (point[first]) shifts[first] else if (first == 1) -Inf else shifts[first - 1]
  right <- if (point[last]) shifts[last] else if (last == length(shifts)) Inf else shifts[last + 1]
  zero <- p_at(0)
  list(p_value = zero[["p"]], floor = zero[["floor"]], low = left, high = right,
       low_open = !point[first] && is.finite(left), high_open = !point[last] && is.finite(right),
       connected = length(kept) == last - first + 1)
}

coin_two_sided <- function(fit) {
  min(1, 2 * min(pvalue(fit("less")), pvalue(fit("greater"))))
}

unscale <- function(out) {
  out[c("low", "high")] <- list(out$low / scale, out$high / scale)
  out
}

mann_whitney <- function(control, treated) {
  differences <- as.vector(outer(treated, control, "-"))
  n <- length(control) + length(treated)
  splits <- combn(n, length(treated))
  c_int <- round(control * scale)
  t_int <- round(treated * scale)
  out <- unscale(invert(as.vector(outer(t_int, c_int, "-")), mw_at(c_int, t_int, splits)))
  data <- data.frame(y = c(control, treated),
                     g = factor(rep(c("t", "c"), c(length(control), length(treated))),
                                levels = c("t", "c")))
  out$coin_p <- coin_two_sided(function(alt) {
    wilcox_test(y ~ g, data = data, distribution = "exact", alternative = alt)
  })
  out$estimate <- median(differences)
  if (length(unique(c(control, treated))) == n) {
    w <- wilcox.test(treated, control, exact = TRUE, conf.int = TRUE)
    out[c("r_p_value", "r_estimate", "r_low", "r_high")] <-
      list(w$p.value, unname(w$estimate), w$conf.int[1], w$conf.int[2])
  }
  c(list(test = "mannwhitney"), out)
}

signed_rank <- function(d) {
  walsh <- outer(d, d, "+") / 2
  walsh <- walsh[upper.tri(walsh, diag = TRUE)]
  d_int <- round(d * scale)
  walsh_int <- outer(d_int, d_int, "+") / 2
  out <- unscale(invert(walsh_int[upper.tri(walsh_int, diag = TRUE)], signs_at(d_int)))
  data <- data.frame(y = seq_along(d) + d, x = seq_along(d))
  out$coin_p <- coin_two_sided(function(alt) {
    wilcoxsign_test(y ~ x, data = data, distribution = "exact", zero.method = "Pratt",
                    alternative = alt)
  })
  out$estimate <- median(walsh)
  if (all(d != 0) && length(unique(abs(d))) == length(d)) {
    w <- wilcox.test(d, exact = TRUE, conf.int = TRUE)
    out[c("r_p_value", "r_estimate", "r_low", "r_high")] <-
      list(w$p.value, unname(w$estimate), w$conf.int[1], w$conf.int[2])
  }
  c(list(test = "wilcoxon"), out)
}

# --- write --------------------------------------------------------------------------------
columns <- c("case", "test", "p_value", "difference", "difference_low", "difference_high",
             "effect_size", "ci_low", "ci_high", "estimate", "low", "high", "low_open",
             "high_open", "connected", "floor", "coin_p", "r_p_value", "r_estimate", "r_low",
             "r_high")
as_row <- function(case, res) {
  if (is.null(res)) return(NULL)
  row <- setNames(rep(NA_character_, length(columns)), columns)
  row["case"] <- case
  for (name in setdiff(names(res), "case")) {
    value <- res[[name]]
    row[name] <- if (is.character(value)) value else if (is.logical(value)) {
      if (value) "True" else "False"
    } else sprintf("%.17g", value)
  }
  row
}

rows <- list()
inputs <- list()
for (case in names(unpaired)) {
  control <- unpaired[[case]][[1]]
  treated <- unpaired[[case]][[2]]
  inputs[[case]] <- c(case, "unpaired", fmt(control), fmt(treated))
  rows <- c(rows, list(as_row(case, welch(control, treated)),
                       as_row(case, mann_whitney(control, treated))))
}
for (case in names(paired)) {
  control <- seq(0.5, by = 0.25, length.out = length(paired[[case]]))  # exact in binary
  treated <- control + paired[[case]]
  d <- treated - control  # as the tests compute it
  inputs[[case]] <- c(case, "paired", fmt(control), fmt(treated))
  rows <- c(rows, list(as_row(case, paired_t(d))))
  if (length(d) >= 3 && any(d != 0)) rows <- c(rows, list(as_row(case, signed_rank(d))))
}
rows <- do.call(rbind, Filter(Negate(is.null), rows))
cases <- do.call(rbind, inputs)
colnames(cases) <- c("case", "design", "control", "treated")
write.csv(cases, file.path(here, "cases.csv"), row.names = FALSE, quote = TRUE)
write.csv(rows, file.path(here, "reference.csv"), row.names = FALSE, quote = TRUE, na = "")
writeLines(capture.output(sessionInfo()), file.path(here, "sessionInfo.txt"))
