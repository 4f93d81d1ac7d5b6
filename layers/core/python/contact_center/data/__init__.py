"""The one table, and the services' ports over it.

Words, one idea each:

- port: a ``typing.Protocol`` in ``services`` (``services.ports``, ``services.routing.ports``) saying
  what a use case needs stored or read, in the services' values;
- repository (``data.repositories``): the DynamoDB-backed implementation of one port;
- items (``MerchantItems``, ``SeatItems``... in ``data.merchants``, ``data.seats``...): the
  conditional writes and transactions of one item kind, in PynamoDB items, each condition
  commented with the invariant it holds; a failed condition raises the services' named error;
- mapper (``data.mappers``): one per item kind, items to the services' values and back, shared by
  every repository that reads that kind.

``schema`` is the table's key contract (also read by the CDK app); ``models`` the PynamoDB models.
"""
