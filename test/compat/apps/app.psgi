# The PSGI app of the compatibility suite (starman): answers "ok PID".
sub {
	my $body = "ok $$\n";
	return [200, ['Content-Type' => 'text/plain',
	    'Content-Length' => length $body], [$body]];
};
