"""problem+json moved to :mod:`batteryloop.web.problems`; the names are kept here for code importing them
from this module."""

from batteryloop.web.problems import PROBLEM_JSON, AuthError, install, problem

__all__ = ["PROBLEM_JSON", "AuthError", "install", "problem"]
