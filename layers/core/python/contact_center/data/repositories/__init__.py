"""The services' ports over the table: one repository per port.

A repository turns service values into items and back through ``data.mappers`` and writes them
through the item operations of its kind (``data.merchants``, ``data.seats``, ...), whose failed
conditions raise the services' named errors; the use cases never see PynamoDB.
"""
