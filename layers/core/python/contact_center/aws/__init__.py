"""The project's own AWS requests, for the hot paths where botocore's per-request machinery costs
more than the request: DynamoDB item operations and stream reads (``dynamodb``), Lambda ``Invoke``
from an event loop (``lambda_invoke``), both over one endpoint resolver and signer (``endpoint``).

Standard library and botocore only. Everything that must match the SDK comes from the SDK itself
(endpoint resolution, credential chain, SigV4, CA bundle); what is re-implemented here (the HTTP
exchange, error parsing, retries) is held to botocore's behaviour by contract tests in
``tests/functional/aws``.
"""
