# The audit engine is a pytest plugin: `pytest checks --host=NAME` needs nothing more.
pytest_plugins = ["wa_compliance.plugin"]
