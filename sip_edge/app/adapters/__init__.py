"""The edge's adapters to the outside: the table, the routing function, CloudWatch."""
