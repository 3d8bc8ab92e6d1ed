"""scikit-learn's estimator checks on the auto classifiers.

The checks feed numpy arrays of a few dozen rows; the models accept arrays (columns named
x0, x1, ...) and are run with lowered minimums and one cheap candidate per family.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from engine.models import ChurnModel, WinModel

_SMALL = {
    "cv": 2,
    "min_rows": 2,
    "min_class_count": 1,
    "candidates": {"logistic": [{"C": 1.0}], "hist_gradient_boosting": [{"max_iter": 15}]},
}

# No check is expected to fail. Multi-class checks are replaced by
# check_classifier_not_supporting_multiclass (classifier_tags.multi_class=False: churn and win
# are yes/no); sparse input is refused with a clear TypeError (the sparse checks accept that);
# sample-weight equivalence is not generated (fit takes no sample_weight). scikit-learn itself
# skips the 2 array-API checks when SCIPY_ARRAY_API is unset.


@parametrize_with_checks([ChurnModel(**_SMALL), WinModel(**_SMALL)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
