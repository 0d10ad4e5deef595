"""What the test suites share, in one place; no test module imports from another.

- :mod:`~tests.support.fixtures`: the pytest fixtures every suite may use (registered by
  ``tests/conftest.py``): the shared sandbox, reset with ``Sandbox.reset()`` before each use,
  connections to it, hooks, ground truth, PostgreSQL and SQLite connections.
- :mod:`~tests.support.servers`: real servers the tests start (PostgreSQL, Redis).
- :mod:`~tests.support.proxies`: loopback servers in front of the sandbox (TLS, failing leads).
- :mod:`~tests.support.connections`: the one connection-JSON builder and the ``FAST`` settings.
- :mod:`~tests.support.sandbox`: the shared sandbox's keys and a raw API client.
- :mod:`~tests.support.truth`: the sandbox's ground truth as the records sinks hold.
- :mod:`~tests.support.sql`: reading a sink's table back with the database's own driver.
- :mod:`~tests.support.paging`: the sandbox's paging readings as an in-process server.
- :mod:`~tests.support.examples`: the documented example activity.
- :mod:`~tests.support.airflow_env`: a DAGs folder made runnable by ``dag.test()``.
- :mod:`~tests.support.dag_bags`: a DAGs folder parsed as the DAG processor does, on every line.
- :mod:`~tests.support.killed_runs`: a ``dag.test()`` run in a subprocess, SIGKILLed mid-way.
- :mod:`~tests.support.airflow_deployment`, :mod:`~tests.support.deployment_scenario`,
  :mod:`~tests.support.browser`, :mod:`~tests.support.netns`, :mod:`~tests.support.forward`:
  a real Airflow deployment (processes, workers on separate network namespaces, a browser)
  for the deployment suite.
"""
