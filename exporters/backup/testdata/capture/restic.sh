#!/bin/bash
# Captures the restic fixtures: run with a restic binary and an output folder;
# then capture/install.sh OUT ../restic-VERSION (drops rc files of exit 0).
# usage: restic.sh <restic binary> <out dir>
set -u
B=$1; O=$2; mkdir -p $O
W=/tmp/h21-fix; rm -rf $W; mkdir -p $W; cd $W
export RESTIC_REPOSITORY=$W/repo RESTIC_PASSWORD=hunter22 RESTIC_CACHE_DIR=$W/cache TZ=Europe/Berlin LC_ALL=C
mkdir -p data/docs data/photos
head -c 100000 /dev/urandom > data/docs/a.bin; head -c 200000 /dev/urandom > data/docs/b.bin; echo hi > data/docs/c.txt
head -c 500000 /dev/urandom > data/photos/p.jpg
$B init -q
$B backup -q --host nas --tag daily data/docs
$B backup -q --host nas --tag daily data/docs data/photos
$B backup -q --host laptop --tag weekly data/photos
echo more > data/docs/d.txt
$B backup -q --host nas --tag daily data/docs
$B backup --json --host nas --tag daily data/docs | grep '"summary"' > $O/backup.json
$B snapshots --json --no-lock > $O/snapshots.json
$B stats --json --mode raw-data --no-lock > $O/stats-raw-data.json
$B stats --json --no-lock > $O/stats-restore-size.json
$B check > $O/check.txt 2>&1; echo "rc=$?" > $O/check.rc
$B check --json > $O/check-json.stdout 2> $O/check-json.stderr; echo "rc=$?" > $O/check-json.rc
$B list locks --no-lock > $O/locks-none.txt
$B version > $O/version.txt
$B restore latest --target $W/restore --json > $O/restore.json 2> $O/restore.stderr; echo "rc=$?" > $O/restore.rc
$B restore deadbeef --target $W/restore2 --json > $O/restore-nosnap.json 2> $O/restore-nosnap.stderr; echo "rc=$?" > $O/restore-nosnap.rc
RESTIC_PASSWORD=wrong $B snapshots --json --no-lock > $O/snapshots-wrongpw.stdout 2> $O/snapshots-wrongpw.stderr; echo "rc=$?" > $O/snapshots-wrongpw.rc
RESTIC_REPOSITORY=$W/nope $B snapshots --json --no-lock > $O/snapshots-norepo.stdout 2> $O/snapshots-norepo.stderr; echo "rc=$?" > $O/snapshots-norepo.rc
# locked: a check --read-data stopped while it holds its lock
$B check --read-data > /dev/null 2>&1 &
P=$!
for i in $(seq 100); do [ -n "$(ls repo/locks)" ] && break; sleep 0.05; done
kill -STOP $P
$B list locks --no-lock > $O/locks.txt
$B cat lock $(head -1 $O/locks.txt) --no-lock > $O/lock.json
$B check > $O/check-locked.txt 2>&1; echo "rc=$?" > $O/check-locked.rc
$B check --json > $O/check-locked-json.stdout 2> $O/check-locked-json.stderr; echo "rc=$?" > $O/check-locked-json.rc
$B snapshots --json > /dev/null 2> $O/snapshots-locked.stderr; echo "rc=$?" > $O/snapshots-locked.rc
$B snapshots --json --no-lock > /dev/null 2> /dev/null; echo "rc=$?" > $O/snapshots-locked-nolock.rc
kill -CONT $P; wait $P
# damaged: overwrite 7 bytes of the biggest pack file
pack=$(ls -S repo/data/*/* | head -1); chmod u+w $pack
printf 'XXXXXXX' | dd of=$pack bs=1 seek=300 conv=notrunc 2>/dev/null
$B check --read-data > $O/check-errors.txt 2>&1; echo "rc=$?" > $O/check-errors.rc
$B restore latest --host laptop --target $W/restore3 --json > $O/restore-errors.json 2> $O/restore-errors.stderr; echo "rc=$?" > $O/restore-errors.rc
$B restore latest --host laptop --target $W/restore4 --json > $O/restore-errors-combined.json 2>&1; echo "rc=$?" > $O/restore-errors-combined.rc
echo $W
