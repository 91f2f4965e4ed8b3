#!/bin/bash
# Runs inside the throw-away QEMU guest (Debian 13, OpenZFS from Debian's
# zfs-dkms/zfsutils-linux, smartmontools) and captures the real outputs of
# the commands hlexporter runs. Written for fixture capture only.
set -u
mount -t 9p -o trans=virtio,version=9p2000.L out /out || exit 1
exec > /out/capture.log 2>&1
set -x
O=/out/cap
mkdir -p $O
export LC_ALL=C
cap() { local name=$1; shift; timeout 30 "$@" > "$O/$name.out" 2> "$O/$name.err"; echo $? > "$O/$name.rc"; }
LP=name,size,allocated,free,fragmentation,capacity,dedupratio,health
DP=name,type,used,available,referenced,quota
snap() {
  local p=$1
  cap $p.zpool-status-j-json-int zpool status -j --json-int
  cap $p.zpool-status-p-s zpool status -p -s
  cap $p.zpool-status zpool status
  cap $p.zpool-status-v zpool status -v
  cap $p.zpool-list-j-json-int zpool list -j --json-int -o $LP
  cap $p.zpool-list-Hp zpool list -Hp -o $LP
  cap $p.zfs-list-j-json-int zfs list -j --json-int -t filesystem,volume -o $DP
  cap $p.zfs-list-Hp zfs list -Hp -t filesystem,volume -o $DP
  cap $p.zfs-list-Hp-snapshots zfs list -Hp -t snapshot -o name,creation
}
D=/dev/disk/by-id/virtio-hldisk
SUSP=/sys/module/zfs/parameters/zfs_scan_suspend_progress
modprobe zfs
udevadm settle
ls -l /dev/disk/by-id/ > $O/by-id.txt
cap version zfs version
cap zpool-version zpool version

# --- smartctl (QEMU-emulated NVMe and ATA devices)
cap smart-scan smartctl --scan --json
for d in /dev/nvme0 /dev/nvme1 /dev/sda; do
  n=$(basename $d)
  cap smart-$n smartctl --json --nocheck=standby -a $d
done
cap smart-version smartctl --version
# as the collector runs them after a scan: with the scanned -d type
cap smart-scan-d-scsi-sda smartctl --json --nocheck=standby -a -d scsi /dev/sda
cap smart-scan-d-nvme-nvme0 smartctl --json --nocheck=standby -a -d nvme /dev/nvme0
cap smart-scan-d-nvme-nvme1 smartctl --json --nocheck=standby -a -d nvme /dev/nvme1

# --- systemctl show
SP=Id,LoadState,ActiveState,SubState,Result,ExecMainStatus,ExecMainStartTimestamp,ExecMainExitTimestamp
show() { cap systemctl-$1 systemctl show --timestamp=unix -p $SP -- $2; }
show upgrade-never-ran nixos-upgrade.service
systemctl start nixos-upgrade.timer restic-backups-nas.timer
echo 0 > /etc/unit-rc
systemctl start nixos-upgrade.service restic-backups-nas.service
show upgrade-success nixos-upgrade.service
show backup-success restic-backups-nas.service
echo 1 > /etc/unit-rc
systemctl start nixos-upgrade.service
systemctl start restic-backups-nas.service
show upgrade-failed nixos-upgrade.service
show backup-failed restic-backups-nas.service
systemctl start --no-block nixos-upgrade.service
sleep 1
show upgrade-running nixos-upgrade.service
show upgrade-not-found no-such-unit.service
# without a timer referencing it, a finished oneshot is unloaded and forgets its run
echo 0 > /etc/unit-rc
systemctl start lonely-oneshot.service
show success-unreferenced lonely-oneshot.service
cap systemctl-old-timestamp-format systemctl show -p $SP -- restic-backups-nas.service
cap systemctl-version systemctl --version
sleep 4

# --- ZFS
cap 00-no-pools zpool status -j --json-int
cap 00-no-pools-text zpool status -p -s
cap 00-no-pools-list zpool list -Hp -o $LP
cap 00-no-pools-list-j zpool list -j --json-int -o $LP
cap 00-no-pools-zfs-list-j zfs list -j --json-int -t filesystem,volume -o $DP
cap 00-no-pools-zfs-list zfs list -Hp -t filesystem,volume -o $DP
cap 00-no-pools-snapshots zfs list -Hp -t snapshot -o name,creation
cap 00-no-such-pool-j zpool status -j --json-int nosuch
cap 00-no-such-pool-text zpool status -p -s nosuch

zpool create -o ashift=12 tank mirror ${D}1 ${D}2 log ${D}3 cache ${D}4 spare ${D}5
zfs create tank/backup
zfs set quota=200M tank/backup
zfs create tank/media
zfs create -V 32M tank/vol
dd if=/dev/urandom of=/tank/media/clip.bin bs=1M count=60 status=none
dd if=/dev/urandom of=/tank/backup/db.dump bs=1M count=20 status=none
zfs snapshot tank/backup@auto-2026-11-22_00.00
zfs snapshot tank/backup@auto-2026-11-22_01.00
zfs snapshot tank/media@manual
sync
snap 01-new-pool

zpool scrub -w tank
snap 02-scrub-finished

echo 1 > $SUSP
zpool scrub tank
sleep 3
snap 03-scrub-in-progress
zpool scrub -p tank
sleep 1
snap 04-scrub-paused
zpool scrub tank
sleep 2
zpool scrub -s tank
sleep 1
snap 05-scrub-canceled
echo 0 > $SUSP

zpool offline tank ${D}2
snap 06-degraded-offline
zpool online tank ${D}2
zpool wait -t resilver tank

echo 1 > $SUSP
zpool replace tank ${D}2 ${D}6
sleep 3
snap 07-resilvering-replacing
echo 0 > $SUSP
zpool wait -t resilver tank
snap 08-resilver-finished

zpool replace tank ${D}1 ${D}5
zpool wait -t resilver tank
snap 09-spare-in-use
zpool detach tank ${D}5
zpool wait -t resilver tank

# one side of the mirror overwritten while exported; the scrub repairs it
zpool export tank
dd if=/dev/urandom of=${D}6 bs=1M seek=40 count=60 conv=notrunc status=none
sync
zpool import -d /dev/disk/by-id tank
zpool scrub -w tank
snap 10-checksum-repaired

# permanent errors on a pool without redundancy
zpool create -o ashift=12 scratch ${D}7
zfs create scratch/data
dd if=/dev/urandom of=/scratch/data/file.bin bs=1M count=8 status=none
sync
zinject -t data -e checksum -f 100 /scratch/data/file.bin
zinject -a
cat /scratch/data/file.bin > /dev/null
zinject -c all
snap 11-permanent-errors

# a raidz1 whose member fails with I/O errors
zpool create -o ashift=12 nas raidz1 ${D}8 ${D}9 ${D}10
dd if=/dev/urandom of=/nas/data.bin bs=1M count=40 status=none
sync
zinject -d ${D}8 -e io -T all -f 100 nas
zinject -a
cat /nas/data.bin > /dev/null
zpool scrub -w nas
sleep 10
zinject -c all
snap 12-faulted-io-errors

# a disk pulled out of the raidz (PCI hot-remove of its virtio device)
zpool clear nas
zpool wait -t resilver nas
dev=$(basename $(readlink -f ${D}10))
pci=$(readlink -f /sys/block/$dev/device/..)
echo "$dev $pci" > $O/pulled-nas.txt
echo 1 > $pci/remove
sleep 5
dd if=/dev/urandom of=/nas/more.bin bs=1M count=4 status=none; sync
sleep 2
snap 13-disk-removed

# a mirror that loses both disks: the pool is suspended (failmode=wait)
zpool create -o ashift=12 gone mirror ${D}11 ${D}12
dd if=/dev/urandom of=/gone/x.bin bs=1M count=4 status=none; sync
for n in 11 12; do
  dev=$(basename $(readlink -f ${D}$n))
  pci=$(readlink -f /sys/block/$dev/device/..)
  echo "$dev $pci" >> $O/pulled-gone.txt
  echo 1 > $pci/remove
done
(dd if=/dev/urandom of=/gone/y.bin bs=1M count=4 status=none; sync) &
sleep 15
snap 14-pool-suspended
zpool offline -f nas ${D}9 || true
snap 15-forced-fault

echo done > $O/DONE
sync
echo o > /proc/sysrq-trigger
