#!/usr/bin/perl
# plverify.pl MESSAGE NAME=FILE... -- verify a message's DKIM signatures
# with Mail::DKIM (libmail-dkim-perl; rsa-sha256 only in Debian 12), keys
# taken only from the given TXT record files (plain text, or zone-file form
# whose quoted strings are joined); no DNS.  Prints one line per signature
# ("perl: RESULT ALGORITHM s=SELECTOR (DETAIL)"); exit 77 if Mail::DKIM is
# missing, else 0 (the caller reads the lines).
use strict;
use warnings;

BEGIN {
	for my $m (qw(Mail::DKIM::Verifier Mail::DKIM::DNS Net::DNS)) {
		eval "require $m; 1" or do { print "perl: no $m\n"; exit 77 };
	}
}

my ($msg, @args) = @ARGV;
my %rec;
for my $a (@args) {
	my ($name, $file) = split /=/, $a, 2;
	open my $fh, '<', $file or die "$file: $!\n";
	local $/;
	my $t = <$fh>;
	$t = join '', ($t =~ /"([^"]*)"/g) if $t =~ /"/;
	$t =~ s/\s+\z//;
	$name =~ s/\.\z//;
	$rec{lc $name} = $t;
}

{
	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($domain, $type) = @_;
		$domain =~ s/\.\z//;
		my $t = $rec{lc $domain};
		if (!defined $t) {
			$@ = 'NXDOMAIN';
			return;
		}
		my @strings = ($t =~ /(.{1,255})/gs);
		return Net::DNS::RR->new(name => $domain, type => 'TXT',
		    txtdata => [@strings]);
	};
}

my $v = Mail::DKIM::Verifier->new;
open my $fh, '<', $msg or die "$msg: $!\n";
binmode $fh;
while (my $line = <$fh>) {
	$line =~ s/\r?\n\z/\r\n/;
	$v->PRINT($line);
}
$v->CLOSE;
for my $s ($v->signatures) {
	printf "perl: %s %s s=%s (%s)\n", $s->result, $s->algorithm,
	    $s->selector, $s->result_detail;
}
exit 0;
