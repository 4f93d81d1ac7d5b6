"""The deployed shape of Switchboard on one machine, with real Linux networking (root only).

Network namespaces stand for the places of a deployment: a region (an L4 load balancer made of
iptables DNAT in front of several edge tasks, each with its own address), the AWS services the tasks
call, agents' phones behind a home NAT, and a carrier. See `network` for the layout, `balancer` for
the load balancer, `harness` for the processes, and ``python -m local_stack.topology --help``.
"""
