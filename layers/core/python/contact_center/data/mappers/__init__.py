"""One mapper per item kind: the table's items to the services' values and back.

The API's repositories and the router's read the same items through the same functions here, so a
stored value has one reading (its defaults, its legacy spellings) wherever it is read.
"""
