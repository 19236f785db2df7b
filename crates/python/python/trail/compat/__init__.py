"""Drop-in recorders for the systems trail replaces: their users keep their code, and their
events land in a trail log (signed, verifiable, scanned) instead of a file anyone can rewrite.

- ``trail.compat.harness``: Harness 0.6's ``AuditLogger``, and ``install()`` to make Harness
  itself record into trail without a change to its code.
- ``trail.compat.ag2``: a ``KnowledgeStore`` for AG2's hub whose audit log is a trail log.
- ``trail.compat.agenticapi``: AgenticAPI's audit recorder over a trail log.
"""
