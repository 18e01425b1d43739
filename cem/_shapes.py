"""Array shapes by covariance type, in one place: the shape of a
covariances / precisions / prec_chol array, and the number of free
parameters (for bic/aic/icl)."""


def param_shape(covariance_type, k, d):
    """Shape of a covariances, precisions or prec_chol array of k components
    of d features."""
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,),
            "tied_diag": (d,), "tied_spherical": (1,)}[covariance_type]


def n_covariance_parameters(covariance_type, k, d):
    """Free parameters of the covariances of k components of d features
    (a symmetric d x d matrix has d (d + 1) / 2; the shared diagonal of
    'tied_diag' d and the shared variance of 'tied_spherical' 1, as mclust
    counts EEI and EII)."""
    return {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
            "spherical": k, "tied_diag": d, "tied_spherical": 1}[covariance_type]


def n_parameters(covariance_type, k, d):
    """Free parameters of a mixture of k components of d features:
    covariances, k means and k - 1 weights (scikit-learn's _n_parameters)."""
    return n_covariance_parameters(covariance_type, k, d) + k * d + k - 1
