"""The act service: what tasks (and scripts) call to send a webhook or publish a message.

`sdk.Act` is the service object (``services["act"]``, and ``act`` in a script); `plugin.PLUGIN`
publishes it under the ``das_actors.services`` entry point. Calls only write to the durable
outbox (`actors.store.outbox`); the server's delivery actor (`actors.dispatcher`) sends.
"""
