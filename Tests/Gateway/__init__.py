# A package, so that pytest imports this directory's conftest.py as "Gateway.conftest" and
# the test modules import their helpers relatively: Tests/Interop's test modules do
# `from conftest import ...`, which a second top-level "conftest" would shadow in a run of both.
