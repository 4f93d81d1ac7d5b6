"""SIP mechanism, stdlib + asyncio only: messages, transports, transactions, the stack and the
decisions it executes, dialogs, reliable provisionals, registrar binding rules, digest auth."""
