"""Checkers for the notebooks' exercises, one module per notebook (nb00, nb01, ...).

Each checker takes the learner's function (and the lab when it needs the
services), runs it against the real services, and prints one line via
helpers.checks.run_check.  Checks compare behaviour and measured time with
wide margins, never the exact code, so any correct answer passes.
"""
