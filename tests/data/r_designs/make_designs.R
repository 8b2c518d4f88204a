# Reference values for mekscore's design models (src/mekscore/tl/_model.py and friends).
#
# Simulates small study designs (seeded), writes them to designs.csv, reads them back
# (so R and Python fit the same doubles) and writes R's results to results.csv:
#   lm       ordinary least squares (lm + vcov), contrasts L b with exact t
#   t.test   Welch and paired t-tests (two arms, pairs, per-subject changes)
#   welch    Welch-Satterthwaite contrasts of several arm means (the formula, in R)
#   iut      "the combination beats both": both one-sided tests, p = max, bound = min
#   lmer     lmerTest::lmer (REML) + contest(..., ddf = "Satterthwaite", confint = TRUE)
#
# lme4's default optimiser stops when the REML deviance changes by < 1e-8 or so, which
# leaves theta (and the Satterthwaite df) uncertain in the 8th digit. Each lmer fit is
# therefore refined: theta is moved to the root of the derivative of lme4's own REML
# deviance (numDeriv::grad, uniroot at tol 1e-15) and the model rebuilt there with
# lmerControl(optimizer = NULL); the column `default_df` keeps the df of the unrefined
# fit for comparison. Singular fits (theta = 0) are kept as lme4 returns them.
#
# Run from this folder:  Rscript make_designs.R   (R 4.2, lme4 1.1-31, lmerTest 3.1-3)

suppressMessages(library(lmerTest))
set.seed(20240522)

# --- simulate -------------------------------------------------------------------------

arms_data <- function(design, arms, n, effects, sd = 1, extra = NULL) {
  arm <- rep(arms, n)
  y <- effects[arm] + rnorm(length(arm), sd = sd[match(arm, arms)] %||% 1)
  data.frame(design = design, sample = paste0(design, "_", seq_along(arm)), arm = arm, y = y)
}
`%||%` <- function(a, b) if (is.null(a) || anyNA(a)) b else a

designs <- list()

# 1. 2x2 factorial (vehicle, cobi = MEKi, aPDL1 = ICI, combo) with a batch covariate
d <- arms_data("factorial_batch", c("veh", "cobi", "aPDL1", "combo"), c(4, 5, 4, 3),
               c(veh = 0, cobi = -1, aPDL1 = 0.3, combo = -1.6))
d$batch <- c("a", "b", "a", "b", "a", "b", "a", "b", "a", "a", "b", "a", "b", "b", "a", "b")
d$y <- d$y + ifelse(d$batch == "b", 0.7, 0)
d$MEKi <- ifelse(d$arm %in% c("cobi", "combo"), "yes", "no")
d$ICI <- ifelse(d$arm %in% c("aPDL1", "combo"), "yes", "no")
designs$factorial_batch <- d

# 2. three arms (a dose series, no agents) with a numeric and a categorical covariate
d <- arms_data("three_arms_covariates", c("veh", "low", "high"), c(5, 4, 4),
               c(veh = 0, low = -0.5, high = -1.4))
d$age <- round(runif(nrow(d), 40, 80))
d$sex <- rep(c("F", "M"), length.out = nrow(d))
d$y <- d$y + 0.02 * (d$age - 60) + ifelse(d$sex == "M", 0.4, 0)
designs$three_arms_covariates <- d

# 3. 2x2 factorial without covariates, unequal variances (Welch-Satterthwaite)
designs$welch_factorial <- arms_data(
  "welch_factorial", c("veh", "cobi", "aPDL1", "combo"), c(4, 3, 5, 4),
  c(veh = 0, cobi = -1.2, aPDL1 = 0.2, combo = -2.5), sd = c(0.5, 1, 0.8, 1.5))

# 4. a dose series with a user contrast: the mean of the treated arms against vehicle
designs$welch_dose <- arms_data("welch_dose", c("veh", "low", "high"), c(4, 4, 5),
                                c(veh = 0, low = -0.6, high = -1.1), sd = c(0.6, 1, 1.3))

# 5. blocks (e.g. genotypes or donors) with all four arms; block 5 lacks the combination
blocks <- expand.grid(arm = c("veh", "cobi", "aPDL1", "combo"), pair = paste0("g", 1:5),
                      stringsAsFactors = FALSE)
blocks <- blocks[!(blocks$pair == "g5" & blocks$arm == "combo"), ]
shift <- c(veh = 0, cobi = -0.9, aPDL1 = 0.1, combo = -1.3)
blocks$y <- rnorm(5)[match(blocks$pair, paste0("g", 1:5))] + shift[blocks$arm] +
  rnorm(nrow(blocks), sd = 0.4)
blocks$design <- "blocks"
blocks$sample <- paste0("blocks_", seq_len(nrow(blocks)))
designs$blocks <- blocks

# repeated biopsies: subjects in arms (or groups), times; `keep` drops samples
repeated_data <- function(design, between, n, times, effect, keep = NULL, sd_subject = 0.8) {
  subjects <- paste0(design, "_p", seq_len(sum(n)))
  grid <- expand.grid(time = times, subject = subjects, stringsAsFactors = FALSE)
  grid$between <- rep(between, n)[match(grid$subject, subjects)]
  u <- rnorm(length(subjects), sd = sd_subject)
  grid$y <- u[match(grid$subject, subjects)] + effect(grid$between, grid$time) +
    rnorm(nrow(grid), sd = 0.6)
  grid$design <- design
  grid$sample <- paste0(grid$subject, "_", grid$time)
  if (!is.null(keep)) grid <- grid[!grid$sample %in% keep, ]
  grid
}
arm_time <- function(b, t) ifelse(t == "on", ifelse(b == "combo", -1.2, -0.3), 0)

# 6. randomised arms (ICI alone vs ICI + MEKi), pre/on biopsies, every subject complete
d <- repeated_data("repeated_balanced", c("ICI", "combo"), c(5, 4), c("pre", "on"), arm_time)
designs$repeated_balanced <- transform(d, arm = between)

# 7. the same with missing biopsies in both arms (a random intercept per subject)
d <- repeated_data("repeated_unbalanced", c("ICI", "combo"), c(6, 5), c("pre", "on"), arm_time,
                   keep = c("repeated_unbalanced_p2_on", "repeated_unbalanced_p5_pre",
                            "repeated_unbalanced_p8_on", "repeated_unbalanced_p10_pre"))
designs$repeated_unbalanced <- transform(d, arm = between)

# 8. single arm, pre / on / progression, responders (R) and non-responders (NR), unbalanced
response <- function(b, t) ifelse(t == "on", ifelse(b == "R", -1, -0.2), ifelse(t == "prog", 0.3, 0))
designs$pre_on_prog <- transform(repeated_data(
  "pre_on_prog", c("NR", "R"), c(5, 5), c("pre", "on", "prog"), response,
  keep = c("pre_on_prog_p1_on", "pre_on_prog_p2_prog", "pre_on_prog_p3_pre",
           "pre_on_prog_p6_on", "pre_on_prog_p7_prog", "pre_on_prog_p8_pre")), group = between)

# 9. arms x time with a subject-level covariate (sex): always the mixed model
d <- repeated_data("arm_time_covariate", c("ICI", "combo"), c(5, 5), c("pre", "on"), arm_time,
                   keep = c("arm_time_covariate_p3_on"))
d$sex <- ifelse(as.integer(sub(".*_p", "", d$subject)) %% 2 == 0, "M", "F")
d$y <- d$y + ifelse(d$sex == "M", 0.5, 0)
designs$arm_time_covariate <- transform(d, arm = between)

# 10. no subject variance: REML at the boundary theta = 0 (lme4: singular fit)
d <- repeated_data("boundary", c("ICI", "combo"), c(5, 5), c("pre", "on"), arm_time,
                   keep = c("boundary_p1_on", "boundary_p7_pre"), sd_subject = 0)
designs$boundary <- transform(d, arm = between)

# 11. the expert path: formula ~ arm * time with a random intercept per subject
designs$formula_lmm <- transform(repeated_data(
  "formula_lmm", c("ICI", "combo"), c(5, 4), c("pre", "on"), arm_time,
  keep = c("formula_lmm_p4_pre", "formula_lmm_p6_on")), arm = between)

columns <- c("design", "sample", "arm", "pair", "subject", "time", "group", "batch", "MEKi",
             "ICI", "age", "sex", "y")
long <- do.call(rbind, lapply(designs, function(d) {
  for (col in setdiff(columns, names(d))) d[[col]] <- NA
  d$y <- round(d$y, 6)
  d[, columns]
}))
write.csv(long, "designs.csv", row.names = FALSE, na = "")
long <- read.csv("designs.csv", na.strings = "", stringsAsFactors = FALSE)
data <- split(long, long$design)

# --- reference results -------------------------------------------------------------------

results <- list()
add <- function(design, contrast, method, estimate, se, df, statistic, p, low, high,
                direction = 0, default_df = NA) {
  results[[length(results) + 1]] <<- data.frame(
    design = design, contrast = contrast, method = method, direction = direction,
    estimate = estimate, se = se, df = df, statistic = statistic, p_value = p,
    low = low, high = high, default_df = default_df)
}
t_row <- function(design, contrast, method, est, se, df) {
  t <- est / se
  q <- qt(0.975, df)
  add(design, contrast, method, est, se, df, t, 2 * pt(-abs(t), df), est - q * se, est + q * se)
}
iut_row <- function(design, contrast, method, gaps, direction) {
  # gaps: list of (estimate, se, df); one-sided in `direction`, bound at level 0.95
  p <- sapply(gaps, function(g) pt(direction * g[1] / g[2], g[3], lower.tail = FALSE))
  bound <- sapply(gaps, function(g) direction * g[1] - qt(0.95, g[3]) * g[2])
  k <- which.max(p)
  g <- gaps[[k]]
  smaller <- direction * min(sapply(gaps, function(g) direction * g[1]))
  low <- if (direction > 0) min(bound) else -Inf
  high <- if (direction > 0) Inf else -min(bound)
  add(design, contrast, method, smaller, g[2], g[3], g[1] / g[2], max(p), low, high, direction)
}

# OLS contrasts of an lm fit: weights on its coefficients
lm_contrast <- function(fit, weights) {
  L <- setNames(numeric(length(coef(fit))), names(coef(fit)))
  L[names(weights)] <- weights
  c(sum(L * coef(fit)), sqrt(drop(t(L) %*% vcov(fit) %*% L)), df.residual(fit))
}
ols_rows <- function(design, fit, contrasts) {
  for (name in names(contrasts)) {
    g <- lm_contrast(fit, contrasts[[name]])
    t_row(design, name, "lm", g[1], g[2], g[3])
  }
}

# 1. factorial with batch: lm(y ~ 0 + arm + batch)
d <- data$factorial_batch
fit <- lm(y ~ 0 + arm + batch, data = d)
w <- function(...) { x <- c(...); names(x) <- paste0("arm", names(x)); x }
factorial <- list(
  cobi_vs_veh = w(cobi = 1, veh = -1), aPDL1_vs_veh = w(aPDL1 = 1, veh = -1),
  combo_vs_veh = w(combo = 1, veh = -1), combo_vs_cobi = w(combo = 1, cobi = -1),
  combo_vs_aPDL1 = w(combo = 1, aPDL1 = -1),
  interaction_cobi_aPDL1 = w(combo = 1, cobi = -1, aPDL1 = -1, veh = 1))
ols_rows("factorial_batch", fit, factorial)
gaps <- list(lm_contrast(fit, factorial$combo_vs_cobi), lm_contrast(fit, factorial$combo_vs_aPDL1))
for (s in c(1, -1)) iut_row("factorial_batch", "combo_beats_cobi_and_aPDL1", "iut-lm", gaps, s)
# the interaction as the coefficient of a factorial parameterisation (formula path)
fit2 <- lm(y ~ MEKi * ICI + batch, data = d)
g <- lm_contrast(fit2, c("MEKiyes:ICIyes" = 1))
t_row("factorial_batch", "interaction_formula", "lm", g[1], g[2], g[3])

# 2. three arms with covariates
d <- data$three_arms_covariates
fit <- lm(y ~ 0 + arm + age + sex, data = d)
ols_rows("three_arms_covariates", fit, list(low_vs_veh = w(low = 1, veh = -1),
                                            high_vs_veh = w(high = 1, veh = -1)))

# 3. Welch: two arms by t.test, several arms by the Welch-Satterthwaite formula
welch <- function(d, weights) {
  g <- split(d$y, d$arm)[names(weights)]
  q <- weights^2 * sapply(g, var) / sapply(g, length)
  c(sum(weights * sapply(g, mean)), sqrt(sum(q)), sum(q)^2 / sum(q^2 / (sapply(g, length) - 1)))
}
ttest_row <- function(design, contrast, x, y, ...) {
  tt <- t.test(x, y, ...)
  add(design, contrast, "t.test", unname(if (length(tt$estimate) == 2) diff(rev(tt$estimate))
                                         else tt$estimate),
      tt$stderr, unname(tt$parameter), unname(tt$statistic), tt$p.value,
      tt$conf.int[1], tt$conf.int[2])
}
d <- data$welch_factorial
y <- split(d$y, d$arm)
for (pair in list(c("cobi", "veh"), c("aPDL1", "veh"), c("combo", "veh"), c("combo", "cobi"),
                  c("combo", "aPDL1"))) {
  ttest_row("welch_factorial", paste0(pair[1], "_vs_", pair[2]), y[[pair[1]]], y[[pair[2]]])
}
g <- welch(d, c(combo = 1, cobi = -1, aPDL1 = -1, veh = 1))
t_row("welch_factorial", "interaction_cobi_aPDL1", "welch", g[1], g[2], g[3])
for (s in c(1, -1)) {
  side <- if (s > 0) "greater" else "less"
  tests <- list(t.test(y$combo, y$cobi, alternative = side),
                t.test(y$combo, y$aPDL1, alternative = side))
  p <- sapply(tests, `[[`, "p.value")
  bound <- sapply(tests, function(tt) s * tt$conf.int[if (s > 0) 1 else 2])
  k <- which.max(p)
  est <- sapply(tests, function(tt) unname(diff(rev(tt$estimate))))
  smaller <- s * min(s * est)
  add("welch_factorial", "combo_beats_cobi_and_aPDL1", "iut-t.test", smaller, tests[[k]]$stderr,
      unname(tests[[k]]$parameter), unname(tests[[k]]$statistic), max(p),
      if (s > 0) min(bound) else -Inf, if (s > 0) Inf else -min(bound), s)
}

# 4. dose series: pairwise by t.test, the user contrast by the formula
d <- data$welch_dose
y <- split(d$y, d$arm)
ttest_row("welch_dose", "low_vs_veh", y$low, y$veh)
ttest_row("welch_dose", "high_vs_veh", y$high, y$veh)
g <- welch(d, c(low = 0.5, high = 0.5, veh = -1))
t_row("welch_dose", "treated_vs_veh", "welch", g[1], g[2], g[3])

# 5. blocks: paired t on the blocks with both arms; the interaction on complete blocks
d <- data$blocks
wide <- reshape(d[, c("pair", "arm", "y")], idvar = "pair", timevar = "arm", direction = "wide")
for (pair in list(c("cobi", "veh"), c("aPDL1", "veh"), c("combo", "veh"), c("combo", "cobi"),
                  c("combo", "aPDL1"))) {
  a <- wide[[paste0("y.", pair[1])]]; b <- wide[[paste0("y.", pair[2])]]
  ok <- !is.na(a) & !is.na(b)
  ttest_row("blocks", paste0(pair[1], "_vs_", pair[2]), a[ok], b[ok], paired = TRUE)
}
dd <- with(wide, y.combo - y.cobi - y.aPDL1 + y.veh)
ttest_row("blocks", "interaction_cobi_aPDL1", dd[!is.na(dd)], NULL)

# 6. repeated, complete: paired t within arms, Welch on the changes between arms
d <- data$repeated_balanced
wide <- reshape(d[, c("subject", "arm", "time", "y")], idvar = c("subject", "arm"),
                timevar = "time", direction = "wide")
for (a in c("ICI", "combo")) {
  s <- wide[wide$arm == a, ]
  ttest_row("repeated_balanced", paste0("on_vs_pre_in_", a), s$y.on, s$y.pre, paired = TRUE)
}
change <- split(wide$y.on - wide$y.pre, wide$arm)
ttest_row("repeated_balanced", "on_vs_pre_combo_vs_ICI", change$combo, change$ICI)

# mixed models: lmerTest with the REML optimum refined (see the header)
refined_lmer <- function(formula, d) {
  m <- lmer(formula, data = d, REML = TRUE)
  theta <- getME(m, "theta")
  if (theta == 0) return(list(model = m, default = m))
  deviance <- update(m, devFunOnly = TRUE)
  slope <- function(t) numDeriv::grad(deviance, t)
  root <- uniroot(slope, c(theta * 0.9, theta * 1.1), tol = 1e-15)$root
  list(model = lmer(formula, data = d, REML = TRUE, start = list(theta = root),
                    control = lmerControl(optimizer = NULL)), default = m)
}
cell_row <- function(m, d, cells) {
  # the contrast's weights on the coefficients, from the model-matrix rows of each cell
  X <- model.matrix(m)
  Reduce(`+`, Map(function(cell, weight) weight * colMeans(X[cell(d), , drop = FALSE]),
                  cells$cell, cells$weight))
}
lmer_rows <- function(design, fits, d, contrasts) {
  for (name in names(contrasts)) {
    L <- cell_row(fits$model, d, contrasts[[name]])
    ct <- contest(fits$model, L, joint = FALSE, confint = TRUE)
    default <- contest(fits$default, L, joint = FALSE)
    add(design, name, "lmer", ct$Estimate, ct$`Std. Error`, ct$df, ct$`t value`,
        ct$`Pr(>|t|)`, ct$lower, ct$upper, default_df = default$df)
  }
}
at <- function(...) { c <- list(...); function(d) Reduce(`&`, Map(function(k, v) d[[k]] == v,
                                                                   names(c), c)) }
contrast <- function(...) { x <- list(...); list(cell = x[c(TRUE, FALSE)],
                                               weight = unlist(x[c(FALSE, TRUE)])) }
arm_time_contrasts <- list(
  on_vs_pre_in_ICI = contrast(at(arm = "ICI", time = "on"), 1, at(arm = "ICI", time = "pre"), -1),
  on_vs_pre_in_combo = contrast(at(arm = "combo", time = "on"), 1,
                                at(arm = "combo", time = "pre"), -1),
  on_vs_pre_combo_vs_ICI = contrast(at(arm = "combo", time = "on"), 1,
                                    at(arm = "combo", time = "pre"), -1,
                                    at(arm = "ICI", time = "on"), -1,
                                    at(arm = "ICI", time = "pre"), 1))

# 7. repeated, missing biopsies
d <- data$repeated_unbalanced
d$cell <- paste(d$arm, d$time)
lmer_rows("repeated_unbalanced", refined_lmer(y ~ 0 + cell + (1 | subject), d), d,
          arm_time_contrasts)

# 8. pre / on / progression by response
d <- data$pre_on_prog
d$cell <- paste(d$group, d$time)
fits <- refined_lmer(y ~ 0 + cell + (1 | subject), d)
prog <- list()
for (g in c("NR", "R")) {
  prog[[paste0("on_vs_pre_in_", g)]] <- contrast(at(group = g, time = "on"), 1,
                                                 at(group = g, time = "pre"), -1)
  prog[[paste0("prog_vs_pre_in_", g)]] <- contrast(at(group = g, time = "prog"), 1,
                                                   at(group = g, time = "pre"), -1)
  prog[[paste0("prog_vs_on_in_", g)]] <- contrast(at(group = g, time = "prog"), 1,
                                                  at(group = g, time = "on"), -1)
}
for (t in c("on", "prog")) {
  prog[[paste0(t, "_vs_pre_R_vs_NR")]] <- contrast(
    at(group = "R", time = t), 1, at(group = "R", time = "pre"), -1,
    at(group = "NR", time = t), -1, at(group = "NR", time = "pre"), 1)
}
lmer_rows("pre_on_prog", fits, d, prog)
pre <- d[d$time == "pre", ]
ttest_row("pre_on_prog", "R_vs_NR_at_pre", pre$y[pre$group == "R"], pre$y[pre$group == "NR"])

# 9. arms x time + sex: the mixed model for every contrast
d <- data$arm_time_covariate
d$cell <- paste(d$arm, d$time)
lmer_rows("arm_time_covariate", refined_lmer(y ~ 0 + cell + sex + (1 | subject), d), d,
          lapply(arm_time_contrasts, function(c) {
            c$cell <- lapply(c$cell, function(f) function(d) f(d) & d$sex == "F"); c }))

# 10. boundary: theta = 0
d <- data$boundary
d$cell <- paste(d$arm, d$time)
fits <- refined_lmer(y ~ 0 + cell + (1 | subject), d)
stopifnot(getME(fits$model, "theta") == 0)
lmer_rows("boundary", fits, d, arm_time_contrasts)

# 11. formula path: ~ arm * time + (1 | subject)
d <- data$formula_lmm
lmer_rows("formula_lmm", refined_lmer(y ~ arm * time + (1 | subject), d), d, list(
  combo_vs_ICI_at_on = contrast(at(arm = "combo", time = "on"), 1, at(arm = "ICI", time = "on"), -1),
  change_combo_vs_ICI = arm_time_contrasts$on_vs_pre_combo_vs_ICI))

out <- do.call(rbind, results)
numeric <- vapply(out, is.numeric, logical(1))
out[numeric] <- lapply(out[numeric], function(x) ifelse(is.na(x), "", sprintf("%.17g", x)))
write.csv(out, "results.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("%d designs, %d reference rows\n", length(designs), nrow(out)))
