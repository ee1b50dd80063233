"""CQRS read models (challenge 5): PostgreSQL tables built from the outbox events by one projector.

- ``models``: each read model (``Projection``): its tables, their DDL, the events it handles and how it applies one;
- ``store``: the event log (which is also the inbox), the registry of generations, the views readers query;
- ``projector``: ``project`` applies one event to every live and building generation, once, in one transaction;
- ``rebuild``: a new generation replayed from the event log beside the live one, compared, then swapped in.

docs/patterns/05-cqrs.md explains the whole.
"""
