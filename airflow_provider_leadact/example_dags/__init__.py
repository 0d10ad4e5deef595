"""The example DAGs: a daily pipeline, the first load (history) and manual runs with parameters.

They ship with the provider: ``leadact-sandbox example-dags <your DAGs folder>`` copies them
there. Their settings come from environment variables, read by :mod:`.leadsquared_settings`,
which the DAG files import from the installed provider, so they parse wherever the provider is
installed (a plain ``DagBag``, ``airflow dags list --local``, the DAG processor).
"""
