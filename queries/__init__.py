"""Every Cypher query of the project: named, parameterised constants, one module per area.

Builders exist only where the text must vary (a relationship type taken from a fixed
enumeration); each such module exposes ``variants()`` so the grammar test sees every text.
"""
