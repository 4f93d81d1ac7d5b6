"""Media policy: which relay anchors a call, what each leg's SDP becomes, what a queued caller hears.

`relays` keeps the configured rtpengine instances and their liveness; `anchor` is the one object a
call talks to (`sip_edge.app.calls.media.CallMedia`); `hold` plays the queue's prompts and music.
"""
