# unicorn's configuration in the compatibility suite: two workers.
worker_processes 2
timeout 30
