package TestNginxCapture;

# Records what Test::Nginx::Socket sends and receives, for `Apisix.TestNginx diff`.
#
# Load it into the .t file's perl without touching the file:
#
#     TEST_NGINX_CAPTURE=/tmp/out.jsonl PERL5OPT="-I/path/to/tools/perl -MTestNginxCapture" prove ... FILE.t
#
# Once the test file is compiled (an INIT block), it wraps a few of Test::Nginx's functions; each
# wrapper calls the original with the same arguments and returns what it returned, so the checks,
# their TAP and the verdicts are those of a run without it. After each block it appends one JSON
# line to $TEST_NGINX_CAPTURE:
#
#     {"file":"t/x.t","block":"TEST 1: name","seq":0,"repeat":0,"tests":[3,5],"elapsed_ms":812,
#      "requests":[{"request":"GET /t HTTP/1.1\r\n...","raw":"HTTP/1.1 200 OK\r\n...",
#                   "responses":[{"status":200,"raw_headers":"HTTP/1.1 200 OK\r\n...","body":"..."}]}],
#      "error_log":[["2026/01/01 ... [warn] ...\n", ...], null, ...]}
#
# - "tests": the first and last Test::More test numbers the block printed (null when none), so a
#   TAP line maps to its block by number.
# - "requests": one entry per connection Test::Nginx opened (send_request); "responses" holds what
#   parse_response made of it: several for pipelined requests, none with ignore_response or http09.
#   "body" is the body as the checks see it (chunked-decoded, cut at Content-Length).
# - "error_log": one entry per time check_error_log ran (after each request, then once at the end),
#   the lines Test::Nginx read from error.log for that check (those at warn and above, and the
#   lines that continue them), or null when it did not read it.
# - Strings are the bytes Perl had, one JSON character per byte (\u00e9 for the byte 0xE9).
#
# Without TEST_NGINX_CAPTURE, or when Test::Nginx::Socket is not loaded, it does nothing.

use strict;
use warnings;
use JSON::PP ();
use Time::HiRes ();

our $Out = $ENV{TEST_NGINX_CAPTURE};
my $Pid = $$;
my $Json = JSON::PP->new->ascii->canonical;
our ($Current, $SendDepth, $InCheck, $CheckIndex);

sub install {
    return if !defined $Out || $Out eq '';
    if (!defined &Test::Nginx::Socket::send_request || !defined $Test::Nginx::Util::RunTestHelper) {
        # prove itself loads this module too (PERL5OPT): only a .t file is told
        warn "TestNginxCapture: Test::Nginx::Socket is not loaded; nothing captured\n" if $0 =~ /\.t\z/;
        return;
    }
    no strict 'refs';
    no warnings qw(redefine prototype);

    my $run_test = \&Test::Nginx::Util::run_test;
    *Test::Nginx::Util::run_test = sub ($) {
        my ($block) = @_;
        my $prev = $Current;
        $Current = {
            file => $0, block => strip_file($block->name), seq => $block->seq_num,
            repeat => 0, requests => [], error_log => [],
            first_test => Test::More->builder->current_test + 1,
            started => Time::HiRes::time(),
        };
        my @ret;
        my $ok = eval { @ret = $run_test->(@_); 1 };
        my $err = $@;
        flush();
        $Current = $prev;
        die $err if !$ok;
        return wantarray ? @ret : $ret[0];
    };

    my $helper = $Test::Nginx::Util::RunTestHelper;
    $Test::Nginx::Util::RunTestHelper = sub {
        my ($block, $dry_run, $repeat) = @_;
        if ($Current && defined $repeat && $repeat != $Current->{repeat}) {
            # repeat_each: each repetition gets a record of its own
            my $first = Test::More->builder->current_test + 1;
            flush();
            $Current = { %$Current, repeat => $repeat, requests => [], error_log => [],
                         first_test => $first, started => Time::HiRes::time() };
        }
        $Current->{repeat} = $repeat || 0 if $Current;
        return $helper->(@_);
    };

    my $send = \&Test::Nginx::Socket::send_request;
    *Test::Nginx::Socket::send_request = sub ($$$$@) {
        my ($req) = @_;
        # send_request retries a refused connection by calling itself: record the outer call only
        return $send->(@_) if $SendDepth || !$Current;
        local $SendDepth = 1;
        my $entry = { request => join('', map { ref $_ ? $_->{value} : $_ } (ref $req ? @$req : ($req))),
                      responses => [] };
        push @{ $Current->{requests} }, $entry;
        my @ret = $send->(@_);
        $entry->{raw} = $ret[0];
        return wantarray ? @ret : $ret[0];
    };

    my $parse = \&Test::Nginx::Socket::parse_response;
    *Test::Nginx::Socket::parse_response = sub ($$$) {
        my @ret = $parse->(@_);
        if ($Current && @{ $Current->{requests} }) {
            my ($res, $raw_headers) = @ret;
            push @{ $Current->{requests}[-1]{responses} }, {
                status => defined $res && defined $res->code && $res->code =~ /^\d+$/ ? 0 + $res->code : undef,
                raw_headers => $raw_headers,
                body => defined $res ? $res->content : undef,
            };
        }
        return wantarray ? @ret : $ret[0];
    };

    my $check = \&Test::Nginx::Socket::check_error_log;
    my $wrapped_check = sub ($$$$) {
        return $check->(@_) if !$Current;
        push @{ $Current->{error_log} }, undef;
        local $InCheck = 1;
        local $CheckIndex = $#{ $Current->{error_log} };
        return $check->(@_);
    };
    *Test::Nginx::Socket::check_error_log = $wrapped_check;
    $Test::Nginx::Util::CheckErrorLog = $wrapped_check
        if defined $Test::Nginx::Util::CheckErrorLog && $Test::Nginx::Util::CheckErrorLog == $check;

    # check_error_log reads the log through the name Socket.pm imported from Util.pm
    my $data = \&Test::Nginx::Socket::error_log_data;
    *Test::Nginx::Socket::error_log_data = sub () {
        my $lines = $data->();
        if ($InCheck && $Current && !defined $Current->{error_log}[$CheckIndex]) {
            $Current->{error_log}[$CheckIndex] = warn_and_above($lines);
        }
        return $lines;
    };
}

# The lines at warn and above, and the unprefixed lines that continue them (a Lua traceback): the
# rule of ErrorLogLines.AtLeastWarn on the C# side. Debug lines would make the capture huge.
my %Kept = map { $_ => 1 } qw(warn error crit alert emerg), '';

sub warn_and_above {
    my ($lines) = @_;
    my @kept;
    my $keeping = 0;
    for my $line (defined $lines ? @$lines : ()) {
        if ($line =~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w*)\]}) {
            $keeping = $Kept{$1} ? 1 : 0;
        }
        if ($keeping) {
            (my $l = $line) =~ s/\n\z//;
            push @kept, $l;
        }
    }
    return \@kept;
}

sub strip_file {
    my ($name) = @_;
    # run_tests prefixes "$0 " to every block name
    my $prefix = "$0 ";
    return substr($name, 0, length $prefix) eq $prefix ? substr($name, length $prefix) : $name;
}

sub flush {
    my $c = $Current or return;
    return if $$ != $Pid;
    my $last = Test::More->builder->current_test;
    my $record = {
        file => $c->{file}, block => $c->{block}, seq => $c->{seq}, repeat => $c->{repeat},
        tests => $last >= $c->{first_test} ? [ $c->{first_test}, $last ] : undef,
        elapsed_ms => int((Time::HiRes::time() - $c->{started}) * 1000),
        requests => $c->{requests}, error_log => $c->{error_log},
    };
    $c->{flushed} = 1;
    my $line = eval { $Json->encode($record) };
    if (!defined $line) {
        warn "TestNginxCapture: cannot encode the record of $c->{block}: $@";
        return;
    }
    if (open my $fh, '>>', $Out) {
        binmode $fh;
        print {$fh} $line, "\n";
        close $fh;
    } else {
        warn "TestNginxCapture: cannot append to $Out: $!\n";
    }
}

INIT { install() }

# A bail-out exits in the middle of a block: keep what it did.
END { flush() if $Current && !$Current->{flushed} }

1;
