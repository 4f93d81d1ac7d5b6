"""Two regions on one machine: a replicator that behaves as DynamoDB global tables do, each region's
failover controller, and the failover drill (``python -m local_stack.regions.drill``)."""
