# COM_CHANGE_USER as libmariadb sends it (Debian's python3-mysqldb):
# change to the second user with the right password, then with a wrong
# one; the session must survive the failure as the second user.
import sys
import MySQLdb

host, port, user1, pw1, user2, pw2 = sys.argv[1:7]
c = MySQLdb.connect(host=host, port=int(port), user=user1, passwd=pw1)
cur = c.cursor()
cur.execute("SELECT CURRENT_USER()")
print("before", cur.fetchone()[0])
c.change_user(user2, pw2)
cur = c.cursor()
cur.execute("SELECT CURRENT_USER()")
print("after", cur.fetchone()[0])
try:
    c.change_user(user1, "wrong")
    print("wrong password accepted")
except MySQLdb.OperationalError as e:
    print("refused", e.args[0])
cur = c.cursor()
cur.execute("SELECT CURRENT_USER()")
print("still", cur.fetchone()[0])
