"""Huiqian's workflow runtime: definitions, instances, human tasks, audit.

Everything that touches SpiffWorkflow or the database lives here; the Flask
service (``services``) and webhook delivery (``webhooks``) depend on this
package, never the other way round.
"""
