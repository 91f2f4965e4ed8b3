#!/bin/bash
# Boots the guest built by build.sh; capture.service runs capture.sh, writes
# every output to $W/out/cap over 9p and powers the guest off. KVM is not
# usable nested here, so the guest runs under TCG (about 5 minutes).
set -euo pipefail
W=${1:-/work/vm}
here=$(cd "$(dirname "$0")" && pwd)
cd "$W"
rm -rf out/cap disks/*.img
for i in $(seq 1 12); do truncate -s 512M disks/d$i.img; done
truncate -s 1G disks/n0.img disks/n1.img disks/a0.img
K=$(ls root/boot/vmlinuz-* | head -1); I=$(ls root/boot/initrd.img-* | head -1)
args=()
for i in $(seq 1 12); do args+=(-drive file=disks/d$i.img,if=none,id=d$i,format=raw -device virtio-blk-pci,drive=d$i,serial=hldisk$i); done
rm -f qmp.sock
qemu-system-x86_64 -M q35 -accel tcg,thread=multi -cpu max -smp 2 -m 3072 -nographic -no-reboot \
  -kernel "$K" -initrd "$I" -append "root=LABEL=hlroot rw console=ttyS0 panic=5" \
  -drive file=root.img,if=virtio,format=raw \
  "${args[@]}" \
  -drive file=disks/n0.img,if=none,id=n0,format=raw -device nvme,id=nvme0,drive=n0,serial=HLNVME0000000001 \
  -drive file=disks/n1.img,if=none,id=n1,format=raw -device nvme,id=nvme1,drive=n1,serial=HLNVME0000000002 \
  -drive file=disks/a0.img,if=none,id=a0,format=raw -device ide-hd,drive=a0,bus=ide.0,serial=HLATA00000001 \
  -virtfs local,path="$W/out",mount_tag=out,security_model=none,id=out \
  -qmp unix:"$W/qmp.sock",server=on,wait=off > vm.log 2>&1 &
# The second NVMe controller reports "reliability degraded" (critical
# warning bit 2) before the guest reads its SMART log.
python3 "$here/set-nvme-warning.py" "$W/qmp.sock"
wait
test -f out/cap/DONE
