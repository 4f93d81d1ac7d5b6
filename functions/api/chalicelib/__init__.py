"""HTTP plumbing of the Switchboard API: request context, error mapping, views, OpenAPI document."""
