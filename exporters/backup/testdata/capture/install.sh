#!/bin/bash
# install.sh <capture dir> <testdata dir>: copy, dropping rc files of exit 0 and their empty stderr
set -eu
S=$1; D=$2; mkdir -p $D
cp $S/* $D/
cd $D
for rc in *.rc; do
  if [ "$(cat $rc)" = "rc=0" ]; then
    b=${rc%.rc}; rm $rc
    [ -f $b.stderr ] && [ ! -s $b.stderr ] && rm $b.stderr
  fi
done
ls
