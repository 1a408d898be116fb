<?php
// bs-symfony.php COMMAND FROM TO BCC: send two messages through Symfony
// Mailer's SendmailTransport (proc_open(COMMAND), SMTP over the pipes),
// then print "sent N" or "error: MESSAGE" (exit 1).
require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

[, $command, $from, $to, $bcc] = $argv;
$mailer = new Mailer(new SendmailTransport($command));
$n = 0;
try {
    foreach ([1, 2] as $i) {
        $email = (new Email())
            ->from($from)
            ->to($to)
            ->bcc($bcc)
            ->subject("symfony $i")
            ->text("first line\n.\nafter a lone dot\r\n.. two dots\nend $i\n");
        $mailer->send($email);
        $n++;
    }
} catch (\Throwable $e) {
    echo "error after $n: ", get_class($e), ": ", $e->getMessage(), "\n";
    exit(1);
}
echo "sent $n\n";
