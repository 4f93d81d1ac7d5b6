"""The fleet of edge tasks: heartbeats, which task holds an agent's flow, lost tasks' calls."""
