#!/bin/sh
# Captures the borg 1.x fixtures. Runs inside a Debian chroot with borgbackup:
#   chroot ROOT /tmp/h21/borg-1.x.sh /tmp/h21/out   (data and repository under /tmp/h21)
# runs inside the chroot; $1 = output dir
set -u
O=$1; mkdir -p $O
export TZ=Europe/Berlin BORG_PASSPHRASE=hunter22 HOME=/root LC_ALL=C.UTF-8
cd /tmp/h21
rm -rf borgrepo data /root/.cache/borg /root/.config/borg
mkdir -p data/docs data/photos data/home
head -c 100000 /dev/urandom > data/docs/a.bin; head -c 100000 /dev/urandom > data/docs/b.bin; echo hi > data/docs/c.txt
head -c 500000 /dev/urandom > data/photos/p.jpg
head -c 20000 /dev/urandom > data/home/notes.bin
borg init -e repokey borgrepo
export BORG_REPO=/tmp/h21/borgrepo
unshare -u sh -c 'hostname nas; borg create --stats ::nas-docs-{now} data/docs' 2>/dev/null
sleep 1
unshare -u sh -c 'hostname nas; borg create ::nas-photos-{now} data/photos'
sleep 1
unshare -u sh -c 'hostname laptop; borg create ::laptop-home-{now} data/home'
sleep 1
echo more > data/docs/d.txt
unshare -u sh -c 'hostname nas; borg create ::nas-docs-{now} data/docs'
borg list --json > $O/list.json
borg list --json --bypass-lock --format '{hostname}{end}' > $O/list-format.json
borg info --json --last 1 > $O/info-last1.json
borg info --json --bypass-lock --last 1 > $O/info-last1-bypass.json
borg info --json > $O/info-repo.json
borg check > $O/check.txt 2>&1; echo "rc=$?" > $O/check.rc
borg --version > $O/version.txt
BORG_PASSPHRASE=wrong borg list --json --bypass-lock --format '{hostname}{end}' > $O/list-wrongpw.stdout 2> $O/list-wrongpw.stderr; echo "rc=$?" > $O/list-wrongpw.rc
BORG_PASSPHRASE=wrong BORG_EXIT_CODES=modern borg list --json --bypass-lock --format '{hostname}{end}' > /dev/null 2> $O/list-wrongpw-modern.stderr; echo "rc=$?" > $O/list-wrongpw-modern.rc
BORG_REPO=/tmp/h21/nope borg list --json --bypass-lock --format '{hostname}{end}' > /dev/null 2> $O/list-norepo.stderr; echo "rc=$?" > $O/list-norepo.rc
# locked: hold the exclusive lock with with-lock, then check (default lock-wait 1s) and list with --bypass-lock
borg with-lock ::  sleep 30 &
sleep 3
borg check > $O/check-locked.txt 2>&1; echo "rc=$?" > $O/check-locked.rc
borg list --json --bypass-lock --format '{hostname}{end}' > $O/list-locked.json 2> $O/list-locked.stderr; echo "rc=$?" > $O/list-locked.rc
borg info --json --last 1 > /dev/null 2> $O/info-locked.stderr; echo "rc=$?" > $O/info-locked.rc
kill %1 2>/dev/null; wait
# damaged: flip bytes in the newest segment file, then check
seg=$(ls -S borgrepo/data/0/* | head -1)
printf 'XXXXXXX' | dd of=$seg bs=1 seek=2000 conv=notrunc 2>/dev/null
borg check > $O/check-errors.txt 2>&1; echo "rc=$?" > $O/check-errors.rc
