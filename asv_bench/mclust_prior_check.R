# mclust_prior_check.R -- R's mclust (>= 6) side of the check of cem's MAP EM
# (GMM(prior=...)) against mclust's conjugate prior, priorControl().
#
#   Rscript asv_bench/mclust_prior_check.R OUTDIR
#
# writes, for each model (VVV, EEE, VVI, VII, EEI, EII = cem's full, tied,
# diag, spherical, tied_diag, tied_spherical), OUTDIR/<model>_mstep.txt (one M-step from the initial
# responsibilities) and OUTDIR/<model>_me5.txt (mclust::me with itmax = 5
# from the same responsibilities), one number a line (%.17g): pro, mean,
# covariances (column-major, as R stores them: p x p x G) and, for me, the
# log-likelihood; and OUTDIR/<model>_prior.txt, defaultPrior's shrinkage,
# mean, dof and scale. tests/test_prior.py runs it (skipped without R) and
# compares cem's results; the data and responsibilities below are formulas
# that the test evaluates identically.
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args)) args[1] else "."
n <- 120; d <- 3; G <- 3
i <- 1:n
X <- sapply(1:d, function(j) sin(1.3 * i * j + j) * j + 3 * (i %% 3) + 0.5 * cos(0.7 * i) * (j == 2))
z <- sapply(1:G, function(c) 1 + 5 * ((i %% 3) == (c - 1)) + 0.3 * sin(i * c))
z <- z / rowSums(z)
flat <- function(p, loglik = NULL) {
  v <- p$variance
  cov <- if (!is.null(v$sigma)) v$sigma else stop("no sigma")
  c(p$pro, p$mean, cov, loglik)
}
out <- function(v, name) writeLines(sprintf("%.17g", v), file.path(outdir, name))
for (model in c("VVV", "EEE", "VVI", "VII", "EEI", "EII")) {
  ms <- mstep(data = X, modelName = model, z = z, prior = priorControl())
  out(flat(ms$parameters), paste0(model, "_mstep.txt"))
  fit <- me(data = X, modelName = model, z = z, prior = priorControl(),
            control = emControl(tol = c(1e-300, 1e-300), itmax = c(5, 5)))
  out(flat(fit$parameters, fit$loglik), paste0(model, "_me5.txt"))
  pr <- defaultPrior(X, G = G, modelName = model)
  out(c(pr$shrinkage, pr$mean, pr$dof, pr$scale), paste0(model, "_prior.txt"))
}
