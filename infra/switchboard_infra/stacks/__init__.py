"""The deployable units: the global table, one regional stack per region, the global entry."""
