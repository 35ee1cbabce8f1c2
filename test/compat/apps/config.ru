# The Rack app of the compatibility suite (puma, unicorn): answers "ok PID".
run lambda { |env|
  body = "ok #{Process.pid}\n"
  [200, { 'content-type' => 'text/plain',
          'content-length' => body.bytesize.to_s }, [body]]
}
