# Sets smart_critical_warning=4 on the guest's second NVMe controller over QMP.
import socket, json, time, sys
for i in range(100):
    try:
        s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except Exception as e:
        time.sleep(0.2)
f=s.makefile('rw')
f.readline()
def cmd(c, **a):
    f.write(json.dumps({"execute":c,"arguments":a} if a else {"execute":c})+"\n"); f.flush()
    while True:
        l=json.loads(f.readline())
        if 'return' in l or 'error' in l: return l
cmd("qmp_capabilities")
print(cmd("qom-set", path="/machine/peripheral/nvme1", property="smart_critical_warning", value=4))
print(cmd("qom-get", path="/machine/peripheral/nvme1", property="smart_critical_warning"))
