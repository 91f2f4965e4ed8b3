#!/bin/bash
# Builds the throw-away Debian 13 guest that captures the fixtures of the
# zfs, smart and systemd collectors (OpenZFS 2.3.9 from zfs-dkms, smartctl
# 7.4, systemd 257). Needs root, debootstrap, qemu-system-x86 and about
# 20 minutes (the ZFS module builds with DKMS). Not run by CI: the captures
# are checked in; this records how they were made.
set -euo pipefail
W=${1:-/work/vm}
here=$(cd "$(dirname "$0")" && pwd)
R=$W/root
mkdir -p "$W" "$W/disks" "$W/out"
debootstrap --variant=minbase --components=main,contrib \
  --include=systemd,systemd-sysv,udev,kmod,ca-certificates trixie "$R" http://deb.debian.org/debian
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
for m in proc sys dev dev/pts; do mount --bind /$m "$R/$m"; done
trap 'for m in dev/pts dev sys proc; do umount "$R/$m" || true; done' EXIT
chroot "$R" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update && apt-get install -y --no-install-recommends \
  linux-image-amd64 linux-headers-amd64 dkms build-essential zfs-dkms zfsutils-linux zfs-zed zfs-test \
  smartmontools nvme-cli initramfs-tools'
chroot "$R" sh -c 'echo root:root | chpasswd'
echo hlcapture > "$R/etc/hostname"
mkdir -p "$R/out"
install -m 0755 "$here/capture.sh" "$R/capture.sh"
U=$R/etc/systemd/system
cp "$here"/units/* "$U/"
ln -sf /etc/systemd/system/capture.service "$U/multi-user.target.wants/capture.service"
rm -f "$U/multi-user.target.wants/smartmontools.service"
for m in dev/pts dev sys proc; do umount "$R/$m"; done; trap - EXIT
truncate -s 4G "$W/root.img"; mkfs.ext4 -q -F -L hlroot -d "$R" "$W/root.img"
