"""The real redis-server fixtures of test_cluster.py, for every runtime suite."""

from tests.runtime.test_cluster import (  # noqa: F401
    redis_cluster,
    redis_own,
    redis_single,
    replicas,
)
