#!/bin/sh
# Records borg 2 outputs (after borg-1.x.sh made /tmp/h21/data) in a chroot with borgbackup2.
# runs inside the chroot; $1 = output dir
set -u
O=$1; mkdir -p $O
export TZ=Europe/Berlin BORG_PASSPHRASE=hunter22 HOME=/root LC_ALL=C.UTF-8
cd /tmp/h21
rm -rf borg2repo /root/.cache/borg /root/.config/borg
export BORG_REPO=/tmp/h21/borg2repo
borg2 repo-create -e repokey-aes-ocb 2>/dev/null
unshare -u sh -c 'hostname nas; borg2 create nas-docs data/docs'
sleep 1
unshare -u sh -c 'hostname laptop; borg2 create laptop-home data/home'
borg2 --version > $O/version.txt
borg2 repo-list --json > $O/repo-list.json 2> $O/repo-list.stderr
borg2 repo-info --json > $O/repo-info.json 2> $O/repo-info.stderr
borg2 info --json --last 1 > $O/info-last1.json 2> $O/info-last1.stderr; echo "rc=$?" > $O/info-last1.rc
# what the collector runs, as if borg2 were installed as borg:
borg2 list --json --bypass-lock --format '{hostname}{end}' > $O/list-format.json 2> $O/list-format.stderr; echo "rc=$?" > $O/list-format.rc
borg2 info --json --bypass-lock --last 1 > $O/info-last1-bypass.json 2> $O/info-last1-bypass.stderr; echo "rc=$?" > $O/info-last1-bypass.rc
