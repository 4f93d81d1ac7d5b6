"""The media relay's control protocol: rtpengine's ng protocol (bencode over UDP), mechanism only.

Like `sip_edge.sip`, this package knows the protocol and nothing of contact centres: `bencode`
encodes and decodes, `ng` sends a command to one rtpengine and returns its typed result. Which
relay a call uses and what is played to whom is policy (`sip_edge.app.media`).
"""
