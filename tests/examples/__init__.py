"""Tests of the client examples in examples/."""
