"""Policy of the SIP edge, the contact centre's routing script: `policy` dispatches each request to
`registration/` (REGISTER) or `calls/` (everything about calls); `fleet/` is the other edge tasks,
`adapters/` the table, the routing function and CloudWatch; `workers` runs background jobs."""
