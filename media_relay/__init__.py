"""What runs on a media relay instance beside rtpengine (`agent`): shipped alone, in its user data."""
