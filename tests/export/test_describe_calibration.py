"""The version's metadata line names what the calibration was fitted on."""

from __future__ import annotations

from export.pipeline import NOT_CALIBRATED, describe_calibration
from helpline_model.calibration import Calibration


def test_names_the_fitting_file_or_the_validation_split() -> None:
    on_file = Calibration({"main": 1.2}, fitted_on={"file": "handwritten_validation.jsonl"})
    assert "fitted on handwritten_validation.jsonl;" in describe_calibration(on_file)
    on_split = Calibration({"main": 1.2}, fitted_on={"split": "validation"})
    assert "fitted on validation;" in describe_calibration(on_split)
    # Files written before `fitted_on` existed were fitted on the validation split.
    assert "fitted on validation;" in describe_calibration(Calibration({"main": 1.2}))
    assert describe_calibration(None) == NOT_CALIBRATED
